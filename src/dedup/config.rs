//! `[dedup]`: which store de-duplicates `requestId`s, and how.
//!
//! The keys stay flat in TOML (`backend`, `memory_max_entries`, `redis_url`,
//! ...; the defaults set every one of them), but they are parsed at load into
//! [`DedupStoreConfig`], where each backend carries only its own
//! settings. The keys of the backends not selected are not used, and not
//! shown by `check-config`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::units::{self, millis, range, secs};
use crate::config::{Problem, SecretUrl};

/// The `dedup.backend` values.
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
#[serde(from = "RawDedupConfig", into = "ShownDedupConfig")]
pub struct DedupConfig {
    /// `backend` and the keys of that backend.
    pub store: DedupStoreConfig,
    /// `ttl_secs`: how long a handled `requestId` is remembered.
    pub ttl: Duration,
    /// `store_timeout_ms`: timeout of every call to the store.
    pub store_timeout: Duration,
    /// `on_store_error`: behaviour when the store is unreachable.
    pub on_store_error: OnStoreError,
}

/// The store `dedup.backend` selects, with that backend's settings.
#[derive(Debug, Clone)]
pub enum DedupStoreConfig {
    /// `backend = "memory"`.
    Memory(MemoryDedupConfig),
    /// `backend = "redis"`.
    Redis(RedisDedupConfig),
    /// `backend = "off"`.
    Off,
}

/// `[dedup]` with `backend = "memory"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryDedupConfig {
    /// `memory_max_entries`: bound on the number of entries.
    pub max_entries: u64,
}

/// `[dedup]` with `backend = "redis"`.
#[derive(Debug, Clone)]
pub struct RedisDedupConfig {
    /// `redis_url`, or `redis_cluster_nodes` when that list is not empty.
    pub target: RedisTarget,
    /// `redis_tls_ca`: PEM file of the CAs to trust for `rediss://` instead
    /// of the built-in web PKI roots (a private or managed-service CA); a
    /// relative path in the config file is relative to the file's directory.
    pub tls_ca: Option<PathBuf>,
    /// `key_prefix`: prefix of every Redis key.
    pub key_prefix: String,
}

/// Which Redis the dedup store talks to.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// `redis_url`: one node (`redis://`, `rediss://` for TLS, `redis+unix://`).
    Single(SecretUrl),
    /// `redis_cluster_nodes`: seed nodes of a Redis Cluster (`redis://h:p` or
    /// `rediss://h:p`); never empty.
    Cluster(Vec<SecretUrl>),
}

impl DedupStoreConfig {
    /// The `dedup.backend` value.
    pub fn backend(&self) -> DedupBackend {
        match self {
            DedupStoreConfig::Memory(_) => DedupBackend::Memory,
            DedupStoreConfig::Redis(_) => DedupBackend::Redis,
            DedupStoreConfig::Off => DedupBackend::Off,
        }
    }
}

impl RedisTarget {
    /// Whether every URL asks for TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        match self {
            RedisTarget::Single(url) => is_tls_url(url),
            RedisTarget::Cluster(nodes) => nodes.iter().all(is_tls_url),
        }
    }
}

/// Longest `dedup.ttl_secs`: 30 days.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 86_400);

impl DedupConfig {
    /// Check what serde cannot: bounds, Redis URL rules (the files are
    /// checked by [`Config::preflight`](crate::Config::preflight)).
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        units::secs_range("dedup.ttl_secs", self.ttl, 1, MAX_TTL.as_secs())?;
        units::millis_range("dedup.store_timeout_ms", self.store_timeout, 1, 60_000)?;
        match &self.store {
            DedupStoreConfig::Memory(memory) => range(
                "dedup.memory_max_entries",
                memory.max_entries,
                1,
                100_000_000,
            ),
            DedupStoreConfig::Redis(redis) => redis.validate(),
            DedupStoreConfig::Off => Ok(()),
        }
    }
}

impl RedisDedupConfig {
    fn validate(&self) -> Result<(), Problem> {
        match &self.target {
            RedisTarget::Single(url) => check_redis_url("dedup.redis_url", url)?,
            RedisTarget::Cluster(nodes) => {
                if nodes.is_empty() {
                    return Err(Problem::new(
                        "dedup.redis_cluster_nodes",
                        "must list at least one node in Cluster mode",
                    ));
                }
                for node in nodes {
                    check_redis_url("dedup.redis_cluster_nodes", node)?;
                }
            }
        }
        if self.tls_ca.is_some() && !self.target.is_tls() {
            return Err(Problem::new(
                "dedup.redis_tls_ca",
                "is set, but the Redis URL(s) are not rediss://",
            ));
        }
        Ok(())
    }
}

/// A Redis URL must use a Redis scheme and must not switch TLS verification
/// off (`#insecure`). Errors never quote the URL.
fn check_redis_url(key: &str, url: &SecretUrl) -> Result<(), Problem> {
    if !matches!(url.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
        return Err(Problem::new(
            key,
            "must be a redis://, rediss:// or redis+unix:// URL",
        ));
    }
    if url.expose_url().fragment().is_some() {
        return Err(Problem::new(
            key,
            "must not have a #fragment (#insecure would switch TLS verification off)",
        ));
    }
    Ok(())
}

/// Whether `url` asks for TLS (`rediss://`).
pub(crate) fn is_tls_url(url: &SecretUrl) -> bool {
    url.scheme() == "rediss"
}

/// `[dedup]` as written: every key of every backend (the defaults set them
/// all), so that a typo is refused by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedupConfig {
    backend: DedupBackend,
    #[serde(with = "secs")]
    ttl_secs: Duration,
    memory_max_entries: u64,
    redis_url: SecretUrl,
    #[serde(default)]
    redis_tls_ca: Option<PathBuf>,
    #[serde(default)]
    redis_cluster_nodes: Vec<SecretUrl>,
    key_prefix: String,
    #[serde(with = "millis")]
    store_timeout_ms: Duration,
    on_store_error: OnStoreError,
}

impl From<RawDedupConfig> for DedupConfig {
    fn from(raw: RawDedupConfig) -> Self {
        let store = match raw.backend {
            DedupBackend::Memory => DedupStoreConfig::Memory(MemoryDedupConfig {
                max_entries: raw.memory_max_entries,
            }),
            DedupBackend::Redis => DedupStoreConfig::Redis(RedisDedupConfig {
                target: if raw.redis_cluster_nodes.is_empty() {
                    RedisTarget::Single(raw.redis_url)
                } else {
                    RedisTarget::Cluster(raw.redis_cluster_nodes)
                },
                tls_ca: raw.redis_tls_ca,
                key_prefix: raw.key_prefix,
            }),
            DedupBackend::Off => DedupStoreConfig::Off,
        };
        Self {
            store,
            ttl: raw.ttl_secs,
            store_timeout: raw.store_timeout_ms,
            on_store_error: raw.on_store_error,
        }
    }
}

/// `[dedup]` as `check-config` shows it: the keys of the selected backend
/// only (URLs redacted by [`SecretUrl`]'s serialization).
#[derive(Serialize)]
struct ShownDedupConfig {
    backend: DedupBackend,
    #[serde(with = "secs")]
    ttl_secs: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_max_entries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_url: Option<SecretUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_cluster_nodes: Option<Vec<SecretUrl>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_tls_ca: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_prefix: Option<String>,
    #[serde(with = "millis")]
    store_timeout_ms: Duration,
    on_store_error: OnStoreError,
}

impl From<DedupConfig> for ShownDedupConfig {
    fn from(cfg: DedupConfig) -> Self {
        let mut shown = Self {
            backend: cfg.store.backend(),
            ttl_secs: cfg.ttl,
            memory_max_entries: None,
            redis_url: None,
            redis_cluster_nodes: None,
            redis_tls_ca: None,
            key_prefix: None,
            store_timeout_ms: cfg.store_timeout,
            on_store_error: cfg.on_store_error,
        };
        match cfg.store {
            DedupStoreConfig::Memory(memory) => shown.memory_max_entries = Some(memory.max_entries),
            DedupStoreConfig::Redis(redis) => {
                match redis.target {
                    RedisTarget::Single(url) => shown.redis_url = Some(url),
                    RedisTarget::Cluster(nodes) => shown.redis_cluster_nodes = Some(nodes),
                }
                shown.redis_tls_ca = redis.tls_ca;
                shown.key_prefix = Some(redis.key_prefix);
            }
            DedupStoreConfig::Off => {}
        }
        shown
    }
}
