//! `[dedup]`: which store de-duplicates `requestId`s, and how.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::redact;
use crate::config::units::{self, millis, range, secs};
use crate::config::Problem;

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
    /// `ttl_secs`: how long a handled `requestId` is remembered.
    #[serde(rename = "ttl_secs", with = "secs")]
    pub ttl: Duration,
    /// Bound on the number of entries of the memory backend.
    pub memory_max_entries: u64,
    /// Redis URL (may carry a password: redacted in output); `rediss://` for TLS.
    #[serde(serialize_with = "redact::serialize_url")]
    pub redis_url: SecretString,
    /// PEM file of the CAs to trust for `rediss://` instead of the built-in
    /// web PKI roots (a private or managed-service CA); a relative path in
    /// the config file is relative to the file's directory.
    #[serde(default)]
    pub redis_tls_ca: Option<PathBuf>,
    /// Seed nodes of a Redis Cluster (`redis://h:p` or `rediss://h:p`);
    /// non-empty selects Cluster mode and `redis_url` is not used.
    #[serde(default, serialize_with = "redact::serialize_urls")]
    pub redis_cluster_nodes: Vec<SecretString>,
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// `store_timeout_ms`: timeout of every call to the store.
    #[serde(rename = "store_timeout_ms", with = "millis")]
    pub store_timeout: Duration,
    /// Behaviour when the store is unreachable.
    pub on_store_error: OnStoreError,
}

/// Longest `dedup.ttl_secs`: 30 days.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 86_400);

impl DedupConfig {
    /// Check what serde cannot: bounds, Redis URL rules (the files are
    /// checked by [`Config::preflight`](crate::Config::preflight)).
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        units::secs_range("dedup.ttl_secs", self.ttl, 1, MAX_TTL.as_secs())?;
        range(
            "dedup.memory_max_entries",
            self.memory_max_entries,
            1,
            100_000_000,
        )?;
        units::millis_range("dedup.store_timeout_ms", self.store_timeout, 1, 60_000)?;
        if self.backend != DedupBackend::Redis {
            return Ok(());
        }
        if self.redis_cluster_nodes.is_empty() {
            check_redis_url("dedup.redis_url", &self.redis_url)?;
        }
        for node in &self.redis_cluster_nodes {
            check_redis_url("dedup.redis_cluster_nodes", node)?;
        }
        if self.redis_tls_ca.is_some() {
            let tls = if self.redis_cluster_nodes.is_empty() {
                is_tls_url(&self.redis_url)
            } else {
                self.redis_cluster_nodes.iter().all(is_tls_url)
            };
            if !tls {
                return Err(Problem::new(
                    "dedup.redis_tls_ca",
                    "is set, but the Redis URL(s) are not rediss://",
                ));
            }
        }
        Ok(())
    }
}

/// A Redis URL must parse, use a Redis scheme, and must not switch TLS
/// verification off (`#insecure`). Errors never quote the URL.
fn check_redis_url(key: &str, url: &SecretString) -> Result<(), Problem> {
    let parsed =
        url::Url::parse(url.expose_secret()).map_err(|_| Problem::new(key, "is not a URL"))?;
    if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
        return Err(Problem::new(
            key,
            "must be a redis://, rediss:// or redis+unix:// URL",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(Problem::new(
            key,
            "must not have a #fragment (#insecure would switch TLS verification off)",
        ));
    }
    Ok(())
}

/// Whether `url` asks for TLS (`rediss://`).
pub(crate) fn is_tls_url(url: &SecretString) -> bool {
    url.expose_secret().starts_with("rediss://")
}
