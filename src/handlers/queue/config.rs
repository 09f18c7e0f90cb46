//! `[handler.queue]`: the broker the `queue` handler publishes to. One
//! flat table per backend, so that a key of another backend is refused by
//! name.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::redact;
use crate::config::units::range;
use crate::config::Problem;
use crate::dedup::is_tls_url;

/// `[handler.queue]`: the durable hand-off to a broker. `backend` picks the
/// broker and which other keys apply.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(from = "RawQueueConfig")]
pub struct QueueConfig {
    /// Include `apiAccessToken` in the published payload (the consumer needs
    /// it to call Alexa APIs; it is a secret in the queue).
    pub include_token: bool,
    /// Publishes awaiting their broker confirmation at once; one more answers
    /// 503 at once.
    pub max_in_flight: usize,
    /// The broker and where on it messages go.
    #[serde(flatten)]
    pub backend: QueueBackend,
}

/// Which broker `handler.queue` publishes to.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "backend", rename_all = "kebab-case")]
pub enum QueueBackend {
    /// NATS JetStream.
    Nats(NatsQueueConfig),
    /// AMQP 0-9-1 (RabbitMQ).
    Amqp(AmqpQueueConfig),
    /// A Redis stream (`XADD`).
    RedisStream(RedisStreamQueueConfig),
}

impl QueueBackend {
    /// The `backend` value: `nats`, `amqp` or `redis-stream`.
    pub fn name(&self) -> &'static str {
        match self {
            QueueBackend::Nats(_) => "nats",
            QueueBackend::Amqp(_) => "amqp",
            QueueBackend::RedisStream(_) => "redis-stream",
        }
    }
}

/// `[handler.queue]` with `backend = "nats"`.
#[derive(Debug, Clone, Serialize)]
pub struct NatsQueueConfig {
    /// `nats://[user:password@]host:port` or `tls://...` (credentials,
    /// including a token in the user part, redacted in output).
    #[serde(serialize_with = "redact::serialize_url")]
    pub url: SecretString,
    /// Subject a JetStream stream listens on.
    pub subject: String,
}

/// `[handler.queue]` with `backend = "amqp"`.
#[derive(Debug, Clone, Serialize)]
pub struct AmqpQueueConfig {
    /// `amqp://user:password@host:port/vhost` or `amqps://...` (credentials
    /// redacted in output).
    #[serde(serialize_with = "redact::serialize_url")]
    pub url: SecretString,
    /// Exchange to publish to (must exist).
    pub exchange: String,
    /// Routing key of every message.
    pub routing_key: String,
}

/// `[handler.queue]` with `backend = "redis-stream"`.
#[derive(Debug, Clone, Serialize)]
pub struct RedisStreamQueueConfig {
    /// `redis://[user:password@]host:port[/db]` (credentials redacted in output).
    #[serde(serialize_with = "redact::serialize_url")]
    pub url: SecretString,
    /// Stream key `XADD` appends to.
    pub stream: String,
    /// Trim the stream to about this many entries (`MAXLEN ~`); none: no trim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u64>,
    /// PEM file of the CAs to trust for a `rediss://` URL instead of the web
    /// PKI roots (as `dedup.redis_tls_ca`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_tls_ca: Option<PathBuf>,
}

fn default_include_token() -> bool {
    true
}

fn default_queue_max_in_flight() -> usize {
    1024
}

/// `[handler.queue]` as written: one flat table per backend, so that a key of
/// another backend (or a typo) is refused by name.
#[derive(Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
enum RawQueueConfig {
    Nats {
        url: SecretString,
        subject: String,
        #[serde(default = "default_include_token")]
        include_token: bool,
        #[serde(default = "default_queue_max_in_flight")]
        max_in_flight: usize,
    },
    Amqp {
        url: SecretString,
        exchange: String,
        routing_key: String,
        #[serde(default = "default_include_token")]
        include_token: bool,
        #[serde(default = "default_queue_max_in_flight")]
        max_in_flight: usize,
    },
    RedisStream {
        url: SecretString,
        stream: String,
        #[serde(default)]
        maxlen: Option<u64>,
        #[serde(default)]
        redis_tls_ca: Option<PathBuf>,
        #[serde(default = "default_include_token")]
        include_token: bool,
        #[serde(default = "default_queue_max_in_flight")]
        max_in_flight: usize,
    },
}

impl From<RawQueueConfig> for QueueConfig {
    fn from(raw: RawQueueConfig) -> Self {
        let (include_token, max_in_flight, backend) = match raw {
            RawQueueConfig::Nats {
                url,
                subject,
                include_token,
                max_in_flight,
            } => (
                include_token,
                max_in_flight,
                QueueBackend::Nats(NatsQueueConfig { url, subject }),
            ),
            RawQueueConfig::Amqp {
                url,
                exchange,
                routing_key,
                include_token,
                max_in_flight,
            } => (
                include_token,
                max_in_flight,
                QueueBackend::Amqp(AmqpQueueConfig {
                    url,
                    exchange,
                    routing_key,
                }),
            ),
            RawQueueConfig::RedisStream {
                url,
                stream,
                maxlen,
                redis_tls_ca,
                include_token,
                max_in_flight,
            } => (
                include_token,
                max_in_flight,
                QueueBackend::RedisStream(RedisStreamQueueConfig {
                    url,
                    stream,
                    maxlen,
                    redis_tls_ca,
                }),
            ),
        };
        Self {
            include_token,
            max_in_flight,
            backend,
        }
    }
}

impl QueueConfig {
    /// Check what serde cannot: URL schemes, non-empty names, bounds.
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        fn invalid(key: &'static str, reason: impl Into<String>) -> Problem {
            Problem::new(key, reason)
        }
        fn scheme_of(url: &SecretString) -> Option<String> {
            url::Url::parse(url.expose_secret())
                .ok()
                .map(|u| u.scheme().to_owned())
        }
        range(
            "handler.queue.max_in_flight",
            self.max_in_flight,
            1,
            100_000,
        )?;
        let (url, schemes): (&SecretString, &[&str]) = match &self.backend {
            QueueBackend::Nats(n) => {
                if n.subject.is_empty() || n.subject.contains(['*', '>', ' ']) {
                    return Err(invalid(
                        "handler.queue.subject",
                        "must be a concrete subject (no wildcards, no spaces)",
                    ));
                }
                (&n.url, &["nats", "tls"])
            }
            QueueBackend::Amqp(a) => {
                if a.exchange.is_empty() {
                    return Err(invalid(
                        "handler.queue.exchange",
                        "must name an exchange (the default exchange \"\" is not allowed)",
                    ));
                }
                (&a.url, &["amqp", "amqps"])
            }
            QueueBackend::RedisStream(r) => {
                if r.stream.is_empty() {
                    return Err(invalid("handler.queue.stream", "must not be empty"));
                }
                if let Some(maxlen) = r.maxlen {
                    range("handler.queue.maxlen", maxlen, 1, 1_000_000_000)?;
                }
                if r.redis_tls_ca.is_some() && !is_tls_url(&r.url) {
                    return Err(invalid(
                        "handler.queue.redis_tls_ca",
                        "is set, but handler.queue.url is not a rediss:// URL",
                    ));
                }
                (&r.url, &["redis", "rediss"])
            }
        };
        match scheme_of(url) {
            Some(s) if schemes.contains(&s.as_str()) => Ok(()),
            _ => Err(invalid(
                "handler.queue.url",
                format!("must be a URL with scheme {}", schemes.join(" or ")),
            )),
        }
    }
}
