//! `[handler.queue]`: the broker the `queue` handler publishes to. One
//! flat table whose `backend` picks the keys that apply; a key of another
//! backend is refused by name.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::units::range;
use crate::config::{Problem, SecretUrl};
use crate::dedup::is_tls_url;

/// `[handler.queue]`: the durable hand-off to a broker. `backend` picks the
/// broker and which other keys apply.
#[derive(Debug, Clone, Serialize)]
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
    pub url: SecretUrl,
    /// Subject a JetStream stream listens on.
    pub subject: String,
}

/// `[handler.queue]` with `backend = "amqp"`.
#[derive(Debug, Clone, Serialize)]
pub struct AmqpQueueConfig {
    /// `amqp://user:password@host:port/vhost` or `amqps://...` (credentials
    /// redacted in output).
    pub url: SecretUrl,
    /// Exchange to publish to (must exist).
    pub exchange: String,
    /// Routing key of every message.
    pub routing_key: String,
}

/// `[handler.queue]` with `backend = "redis-stream"`.
#[derive(Debug, Clone, Serialize)]
pub struct RedisStreamQueueConfig {
    /// `redis://[user:password@]host:port[/db]` (credentials redacted in output).
    pub url: SecretUrl,
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

/// `[handler.queue]` as written. A plain table (not a serde-tagged enum),
/// so that an error in any key is reported under that key; which keys the
/// selected backend takes is checked by [`RawQueueConfig::into_config`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueueConfig {
    backend: BackendName,
    url: SecretUrl,
    subject: Option<String>,
    exchange: Option<String>,
    routing_key: Option<String>,
    stream: Option<String>,
    maxlen: Option<u64>,
    redis_tls_ca: Option<PathBuf>,
    #[serde(default = "default_include_token")]
    include_token: bool,
    #[serde(default = "default_queue_max_in_flight")]
    max_in_flight: usize,
}

/// The `handler.queue.backend` values.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum BackendName {
    Nats,
    Amqp,
    RedisStream,
}

impl RawQueueConfig {
    /// The typed form: a key the backend does not take is refused as an
    /// unknown key, a key it needs as a missing one (both by name).
    fn into_config<E: serde::de::Error>(self) -> Result<QueueConfig, E> {
        const NATS: &[&str] = &[
            "backend",
            "url",
            "subject",
            "include_token",
            "max_in_flight",
        ];
        const AMQP: &[&str] = &[
            "backend",
            "url",
            "exchange",
            "routing_key",
            "include_token",
            "max_in_flight",
        ];
        const REDIS_STREAM: &[&str] = &[
            "backend",
            "url",
            "stream",
            "maxlen",
            "redis_tls_ca",
            "include_token",
            "max_in_flight",
        ];
        let own = match self.backend {
            BackendName::Nats => NATS,
            BackendName::Amqp => AMQP,
            BackendName::RedisStream => REDIS_STREAM,
        };
        let set = [
            ("subject", self.subject.is_some()),
            ("exchange", self.exchange.is_some()),
            ("routing_key", self.routing_key.is_some()),
            ("stream", self.stream.is_some()),
            ("maxlen", self.maxlen.is_some()),
            ("redis_tls_ca", self.redis_tls_ca.is_some()),
        ];
        if let Some((foreign, _)) = set.iter().find(|(key, set)| *set && !own.contains(key)) {
            return Err(E::unknown_field(foreign, own));
        }
        let backend = match self.backend {
            BackendName::Nats => QueueBackend::Nats(NatsQueueConfig {
                url: self.url,
                subject: required("subject", self.subject)?,
            }),
            BackendName::Amqp => QueueBackend::Amqp(AmqpQueueConfig {
                url: self.url,
                exchange: required("exchange", self.exchange)?,
                routing_key: required("routing_key", self.routing_key)?,
            }),
            BackendName::RedisStream => QueueBackend::RedisStream(RedisStreamQueueConfig {
                url: self.url,
                stream: required("stream", self.stream)?,
                maxlen: self.maxlen,
                redis_tls_ca: self.redis_tls_ca,
            }),
        };
        Ok(QueueConfig {
            include_token: self.include_token,
            max_in_flight: self.max_in_flight,
            backend,
        })
    }
}

fn required<E: serde::de::Error>(key: &'static str, value: Option<String>) -> Result<String, E> {
    value.ok_or_else(|| E::missing_field(key))
}

impl<'de> Deserialize<'de> for QueueConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawQueueConfig::deserialize(d)?.into_config()
    }
}

impl QueueConfig {
    /// Check what serde cannot: URL schemes, non-empty names, bounds.
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        range(
            "handler.queue.max_in_flight",
            self.max_in_flight,
            1,
            100_000,
        )?;
        let (url, schemes): (&SecretUrl, &[&str]) = match &self.backend {
            QueueBackend::Nats(n) => {
                if n.subject.is_empty() || n.subject.contains(['*', '>', ' ']) {
                    return Err(Problem::new(
                        "handler.queue.subject",
                        "must be a concrete subject (no wildcards, no spaces)",
                    ));
                }
                (&n.url, &["nats", "tls"])
            }
            QueueBackend::Amqp(a) => {
                if a.exchange.is_empty() {
                    return Err(Problem::new(
                        "handler.queue.exchange",
                        "must name an exchange (the default exchange \"\" is not allowed)",
                    ));
                }
                (&a.url, &["amqp", "amqps"])
            }
            QueueBackend::RedisStream(r) => {
                if r.stream.is_empty() {
                    return Err(Problem::new("handler.queue.stream", "must not be empty"));
                }
                if let Some(maxlen) = r.maxlen {
                    range("handler.queue.maxlen", maxlen, 1, 1_000_000_000)?;
                }
                if r.redis_tls_ca.is_some() && !is_tls_url(&r.url) {
                    return Err(Problem::new(
                        "handler.queue.redis_tls_ca",
                        "is set, but handler.queue.url is not a rediss:// URL",
                    ));
                }
                (&r.url, &["redis", "rediss"])
            }
        };
        if schemes.contains(&url.scheme()) {
            Ok(())
        } else {
            Err(Problem::new(
                "handler.queue.url",
                format!("must be a URL with scheme {}", schemes.join(" or ")),
            ))
        }
    }
}
