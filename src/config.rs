//! Typed configuration: embedded secure defaults, then a TOML file, then
//! `ALEXA_ENDPOINT_<SECTION>__<KEY>` environment variables.
//!
//! Every key is validated at load time; an error names the key, so a bad value
//! stops start-up with a message an operator can act on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The secure production defaults, compiled into the binary.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of environment overrides: `ALEXA_ENDPOINT_SERVER__LISTEN=...`.
pub const ENV_PREFIX: &str = "ALEXA_ENDPOINT";

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &["verification.skill_ids", "alexa_api.allowed_endpoints"];

/// The whole configuration of an endpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener, path, limits, TLS.
    pub server: ServerConfig,
    /// Request verification (signature, cert chain, timestamp, skill id).
    pub verification: VerificationConfig,
    /// De-duplication of `Messaging.MessageReceived` by `requestId`.
    pub dedup: DedupConfig,
    /// Built-in handler of the binary and the handler deadline.
    pub handler: HandlerConfig,
    /// Outbound calls to Alexa's REST APIs.
    pub alexa_api: AlexaApiConfig,
    /// Log output.
    pub log: LogConfig,
    /// Trace export (`[telemetry.otlp]`); off unless an endpoint is set.
    #[serde(default)]
    pub telemetry: crate::telemetry::TelemetryConfig,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Socket address to listen on.
    pub listen: SocketAddr,
    /// Path Alexa POSTs to.
    pub path: String,
    /// Largest accepted request body; larger answers 413.
    pub body_limit_bytes: usize,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
    /// Where `/healthz`, `/readyz` and `/metrics` are served. Equal to
    /// `listen` (same address, non-zero port): both on one port.
    pub admin_listen: SocketAddr,
    /// A connection whose request headers are not complete this long after
    /// it opened (or after the first byte of a keep-alive request) is closed.
    pub header_read_timeout_ms: u64,
    /// A request whose whole body has not arrived this long after its
    /// headers answers 408 and the connection is closed.
    pub body_read_timeout_ms: u64,
    /// A keep-alive connection idle this long between requests is closed.
    pub idle_timeout_secs: u64,
    /// Open connections on the Alexa listener; beyond it new ones are closed
    /// at once. Lowered at start-up if the file-descriptor limit is smaller.
    pub max_connections: usize,
    /// Largest request head (request line and headers); larger answers 431.
    pub max_header_bytes: usize,
    /// Alexa requests handled at once; beyond it answers 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Accept HTTP/2 with prior knowledge (h2c) on a plain-HTTP listener.
    /// (Over TLS, HTTP/2 is negotiated by ALPN as before.)
    pub http2: bool,
    /// Serve HTTPS with these PEM files; absent means plain HTTP.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// `[server.tls]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first).
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// `[verification]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationConfig {
    /// Master switch; `false` disables every check (local replay only).
    pub enabled: bool,
    /// Skill ids (`amzn1.ask.skill....`) this endpoint answers for.
    #[serde(default)]
    pub skill_ids: Vec<String>,
    /// Accept any skill id (verification of signature etc. still applies).
    pub allow_any_skill: bool,
    /// Largest allowed `|now - timestamp|`, in seconds.
    pub timestamp_tolerance_secs: u64,
    /// Accept the legacy SHA-1 `Signature` header when `Signature-256` is absent.
    pub accept_legacy_sha1: bool,
    /// Timeout of one cert chain download attempt.
    pub cert_fetch_timeout_ms: u64,
    /// Cert chain downloads running at once, at most; one more answers 503
    /// at once.
    #[serde(default = "default_cert_download_concurrency")]
    pub cert_download_concurrency: usize,
    /// How long a cert URL whose download (or chain) failed is answered
    /// from memory without a new download; 0 remembers nothing.
    #[serde(default = "default_cert_failure_ttl_secs")]
    pub cert_failure_ttl_secs: u64,
    /// Extra trusted root certificates (PEM), added to the built-in web PKI roots.
    #[serde(default)]
    pub extra_roots: Option<PathBuf>,
    /// Cert chains served from disk instead of downloaded, keyed by normalised URL.
    #[serde(default)]
    pub preloaded_certs: BTreeMap<String, PathBuf>,
}

fn default_cert_download_concurrency() -> usize {
    4
}

fn default_cert_failure_ttl_secs() -> u64 {
    60
}

/// Which dedup store backs the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DedupBackend {
    /// In-process, bounded, with TTL: one replica only.
    Memory,
    /// Shared Redis: several replicas.
    Redis,
    /// No de-duplication (a warning is logged at start-up).
    Off,
}

/// What to do when the dedup store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnStoreError {
    /// Answer 503 without running the handler; Alexa retries later.
    Reject,
    /// Run the handler anyway and risk a duplicate.
    Process,
}

/// `[dedup]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// Store backend.
    pub backend: DedupBackend,
    /// How long a handled `requestId` is remembered.
    pub ttl_secs: u64,
    /// Bound on the number of entries of the memory backend.
    pub memory_max_entries: u64,
    /// Redis URL (may carry a password: redacted in output); `rediss://` for TLS.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub redis_url: SecretString,
    /// PEM file of the CAs to trust for `rediss://` instead of the built-in
    /// web PKI roots (a private or managed-service CA).
    #[serde(default)]
    pub redis_tls_ca: Option<PathBuf>,
    /// Seed nodes of a Redis Cluster (`redis://h:p` or `rediss://h:p`);
    /// non-empty selects Cluster mode and `redis_url` is not used.
    #[serde(default, serialize_with = "serialize_redacted_urls")]
    pub redis_cluster_nodes: Vec<SecretString>,
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// Timeout of every call to the store.
    pub store_timeout_ms: u64,
    /// Behaviour when the store is unreachable.
    pub on_store_error: OnStoreError,
}

/// Built-in handler of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HandlerKind {
    /// Log the message (no tokens) and acknowledge.
    Log,
    /// POST the message to `handler.webhook.url`, acknowledge after a 2xx.
    Webhook,
    /// Apply list changes through the List Management API, then acknowledge.
    ListSync,
    /// Publish the message to a broker (`handler.queue`), acknowledge after
    /// the broker confirmed it.
    Queue,
}

/// `[handler]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerConfig {
    /// Which built-in handler the binary uses.
    pub kind: HandlerKind,
    /// A handler running longer than this answers 503.
    pub deadline_ms: u64,
    /// Settings of the `webhook` handler.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    /// Settings of the `queue` handler.
    #[serde(default)]
    pub queue: Option<QueueConfig>,
}

/// `[handler.webhook]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where messages are POSTed.
    pub url: url::Url,
    /// Standard Webhooks signing secret (`whsec_<base64>`), optional.
    #[serde(default, serialize_with = "serialize_redacted_opt")]
    pub secret: Option<SecretString>,
}

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
    #[serde(serialize_with = "serialize_redacted_credentials_url")]
    pub url: SecretString,
    /// Subject a JetStream stream listens on.
    pub subject: String,
}

/// `[handler.queue]` with `backend = "amqp"`.
#[derive(Debug, Clone, Serialize)]
pub struct AmqpQueueConfig {
    /// `amqp://user:password@host:port/vhost` or `amqps://...` (credentials
    /// redacted in output).
    #[serde(serialize_with = "serialize_redacted_credentials_url")]
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
    #[serde(serialize_with = "serialize_redacted_credentials_url")]
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
    fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                key,
                reason: reason.into(),
            }
        }
        fn scheme_of(url: &SecretString) -> Option<String> {
            url::Url::parse(url.expose_secret())
                .ok()
                .map(|u| u.scheme().to_owned())
        }
        if self.max_in_flight == 0 {
            return Err(invalid("handler.queue.max_in_flight", "must be > 0"));
        }
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
                if r.maxlen == Some(0) {
                    return Err(invalid("handler.queue.maxlen", "must be > 0 when set"));
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

/// `[alexa_api]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlexaApiConfig {
    /// The only `apiEndpoint` values a token is ever sent to.
    pub allowed_endpoints: Vec<String>,
    /// Timeout of every Alexa API call.
    pub timeout_ms: u64,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable; coloured only when stderr is a terminal.
    Pretty,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Output format; the level comes from `RUST_LOG`.
    pub format: LogFormat,
}

/// Loading or validating the configuration failed; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file, the environment or a value could not be read.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value was read but is not acceptable.
    #[error("configuration: `{key}`: {reason}")]
    Invalid {
        /// Dotted key, e.g. `server.path`.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Config {
    /// Load embedded defaults, then `file` (if any), then environment overrides,
    /// and validate the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let mut environment = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .separator("__")
            .list_separator(",")
            .try_parsing(true)
            .source(Some(env));
        for key in LIST_KEYS {
            environment = environment.with_list_parse_key(key);
        }
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        let cfg: Config = builder.add_source(environment).build()?.try_deserialize()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parse a TOML document layered over the embedded defaults (no environment).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every rule that serde alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                key,
                reason: reason.into(),
            }
        }
        let s = &self.server;
        if !s.path.starts_with('/') {
            return Err(invalid("server.path", "must start with '/'"));
        }
        if ["/healthz", "/readyz", "/metrics"].contains(&s.path.as_str()) {
            return Err(invalid(
                "server.path",
                "is reserved for operations endpoints",
            ));
        }
        if s.body_limit_bytes < 1024 {
            return Err(invalid("server.body_limit_bytes", "must be at least 1024"));
        }
        if s.header_read_timeout_ms == 0 {
            return Err(invalid("server.header_read_timeout_ms", "must be > 0"));
        }
        if s.body_read_timeout_ms == 0 {
            return Err(invalid("server.body_read_timeout_ms", "must be > 0"));
        }
        if s.idle_timeout_secs == 0 {
            return Err(invalid("server.idle_timeout_secs", "must be > 0"));
        }
        if s.max_connections == 0 {
            return Err(invalid("server.max_connections", "must be > 0"));
        }
        if !(8192..=1 << 20).contains(&s.max_header_bytes) {
            return Err(invalid(
                "server.max_header_bytes",
                "must be between 8192 and 1048576",
            ));
        }
        if s.max_in_flight == 0 {
            return Err(invalid("server.max_in_flight", "must be > 0"));
        }
        let v = &self.verification;
        if v.enabled && v.skill_ids.is_empty() && !v.allow_any_skill {
            return Err(invalid(
                "verification.skill_ids",
                "is empty: list your skill id(s), or set verification.allow_any_skill = true \
                 (verification.enabled = true refuses to guess which skill it serves)",
            ));
        }
        if v.timestamp_tolerance_secs == 0 || v.timestamp_tolerance_secs > 3600 {
            return Err(invalid(
                "verification.timestamp_tolerance_secs",
                "must be between 1 and 3600",
            ));
        }
        if v.cert_fetch_timeout_ms == 0 {
            return Err(invalid("verification.cert_fetch_timeout_ms", "must be > 0"));
        }
        if v.cert_download_concurrency == 0 || v.cert_download_concurrency > 256 {
            return Err(invalid(
                "verification.cert_download_concurrency",
                "must be between 1 and 256",
            ));
        }
        if v.cert_failure_ttl_secs > 3600 {
            return Err(invalid(
                "verification.cert_failure_ttl_secs",
                "must be at most 3600",
            ));
        }
        let d = &self.dedup;
        if d.ttl_secs == 0 {
            return Err(invalid("dedup.ttl_secs", "must be > 0"));
        }
        if d.memory_max_entries == 0 {
            return Err(invalid("dedup.memory_max_entries", "must be > 0"));
        }
        if d.store_timeout_ms == 0 {
            return Err(invalid("dedup.store_timeout_ms", "must be > 0"));
        }
        if d.backend == DedupBackend::Redis {
            if d.redis_cluster_nodes.is_empty() {
                check_redis_url("dedup.redis_url", &d.redis_url)?;
            }
            for node in &d.redis_cluster_nodes {
                check_redis_url("dedup.redis_cluster_nodes", node)?;
            }
            if let Some(ca) = &d.redis_tls_ca {
                let tls = if d.redis_cluster_nodes.is_empty() {
                    is_tls_url(&d.redis_url)
                } else {
                    d.redis_cluster_nodes.iter().all(is_tls_url)
                };
                if !tls {
                    return Err(invalid(
                        "dedup.redis_tls_ca",
                        "is set, but the Redis URL(s) are not rediss://",
                    ));
                }
                if !ca.is_file() {
                    return Err(invalid(
                        "dedup.redis_tls_ca",
                        format!("{} is not a readable file", ca.display()),
                    ));
                }
            }
        }
        let h = &self.handler;
        if h.deadline_ms == 0 {
            return Err(invalid("handler.deadline_ms", "must be > 0"));
        }
        if h.kind == HandlerKind::Webhook && h.webhook.is_none() {
            return Err(invalid(
                "handler.webhook.url",
                "is required when handler.kind = \"webhook\"",
            ));
        }
        if h.kind == HandlerKind::Queue && h.queue.is_none() {
            return Err(invalid(
                "handler.queue.backend",
                "is required when handler.kind = \"queue\" (\"nats\", \"amqp\" or \"redis-stream\")",
            ));
        }
        if let Some(queue) = &h.queue {
            queue.validate()?;
        }
        if let Some(secret) = h.webhook.as_ref().and_then(|w| w.secret.as_ref()) {
            if crate::handlers::webhook::decode_secret(secret).is_err() {
                return Err(invalid(
                    "handler.webhook.secret",
                    "must be base64, optionally prefixed with whsec_",
                ));
            }
        }
        for endpoint in &self.alexa_api.allowed_endpoints {
            match url::Url::parse(endpoint) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => {
                    return Err(invalid(
                        "alexa_api.allowed_endpoints",
                        format!("{endpoint:?} is not an http(s) URL"),
                    ))
                }
            }
        }
        if self.alexa_api.timeout_ms == 0 {
            return Err(invalid("alexa_api.timeout_ms", "must be > 0"));
        }
        self.telemetry.validate().map_err(|e| match e {
            crate::telemetry::OtlpError::Invalid { key, reason } => invalid(key, reason),
            other => invalid("telemetry.otlp", other.to_string()),
        })?;
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted (`check-config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// `handler.deadline_ms` as a duration.
    pub fn handler_deadline(&self) -> Duration {
        Duration::from_millis(self.handler.deadline_ms)
    }
}

impl Default for Config {
    /// The embedded defaults with verification off: handy for tests and
    /// examples. Production code should use [`Config::load`].
    fn default() -> Self {
        let mut cfg: Config = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .set_override("verification.enabled", false)
            .and_then(|b| b.build())
            .and_then(|c| c.try_deserialize())
            .unwrap_or_else(|e| panic!("embedded default config is invalid: {e}"));
        cfg.verification.enabled = false;
        cfg
    }
}

const REDACTED: &str = "[redacted]";

/// A Redis URL must parse, use a Redis scheme, and must not switch TLS
/// verification off (`#insecure`). Errors never quote the URL.
fn check_redis_url(key: &'static str, url: &SecretString) -> Result<(), ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        key,
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(url.expose_secret()).map_err(|_| invalid("is not a URL"))?;
    if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
        return Err(invalid(
            "must be a redis://, rediss:// or redis+unix:// URL",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(invalid(
            "must not have a #fragment (#insecure would switch TLS verification off)",
        ));
    }
    Ok(())
}

fn is_tls_url(url: &SecretString) -> bool {
    url.expose_secret().starts_with("rediss://")
}

fn serialize_redacted_opt<S: Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

/// URLs are shown without user name, password and password-like query
/// parameters (see [`redact_url`]).
fn serialize_redacted_url<S: Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(v.expose_secret()))
}

fn serialize_redacted_urls<S: Serializer>(v: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|u| redact_url(u.expose_secret())))
}

/// `url` with the user name and password (ACL user and password) and the
/// values of password-like query parameters (`pass=`, `password=`, `user=`,
/// ...) replaced by `[redacted]`; a string that is not a URL becomes
/// `[redacted]` as a whole.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return REDACTED.to_owned();
    };
    let had_userinfo = !u.username().is_empty() || u.password().is_some();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    if let Some(query) = u.query().map(str::to_owned) {
        let shown: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(k, _)| k);
                let secret = matches!(
                    name.to_ascii_lowercase().as_str(),
                    "pass" | "password" | "user" | "username" | "auth" | "token" | "secret"
                );
                if secret {
                    format!("{name}={REDACTED}")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        u.set_query(Some(&shown.join("&")));
    }
    u.set_fragment(None);
    let text = u.to_string();
    if had_userinfo {
        // Show that credentials were there, without showing them.
        if let Some((scheme, rest)) = text.split_once("://") {
            return format!("{scheme}://{REDACTED}@{rest}");
        }
    }
    text
}

/// Broker URLs are shown with user name and password replaced (a NATS token
/// travels as the user name).
fn serialize_redacted_credentials_url<S: Serializer>(
    v: &SecretString,
    s: S,
) -> Result<S::Ok, S::Error> {
    match url::Url::parse(v.expose_secret()) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some(REDACTED));
            }
            if !u.username().is_empty() {
                let _ = u.set_username(REDACTED);
            }
            s.serialize_str(u.as_str())
        }
        Err(_) => s.serialize_str(REDACTED),
    }
}
