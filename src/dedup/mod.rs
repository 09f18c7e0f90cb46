//! De-duplication of `Messaging.MessageReceived` by `requestId`.
//!
//! Idempotency as claim-then-finish: claim with a short TTL (the handler
//! deadline plus a margin, so a crashed replica's claim expires), run the
//! handler, then mark finished with a long TTL (`dedup.ttl_secs`), or release
//! the claim when the handler failed so that Alexa's retry runs it again.
//!
//! `DedupGuard` (in `guard.rs`, used by the request pipeline) runs that
//! protocol around a piece of work and reports `Guarded::{Done, AlreadyDone,
//! Lost}`; the store backends below, and any [`DedupStore`] a library user
//! plugs in, only provide its primitives.
//!
//! Every claim carries an owner token ([`new_owner_token`], one per request
//! attempt): `finish` and `release` are compare-and-set on that token, so a
//! request whose claim expired and was taken over can never finish or release
//! the new owner's claim.
//!
//! Backends, chosen by `dedup.backend` in [`from_config`]:
//! - [`MemoryStore`]: bounded sharded map with per-entry TTL, one process;
//! - [`RedisStore`]: shared by replicas (one node or a Cluster, TLS or not),
//!   one round trip per call, lazy and self-healing connection, every call
//!   bounded by `dedup.store_timeout_ms`, notices when Redis lost its data;
//! - [`NoDedup`]: remembers nothing.

use std::sync::Arc;
use std::time::Duration;

mod config;
mod guard;
mod memory;
mod off;
mod redis;

pub(crate) use self::config::is_tls_url;
pub use self::config::{
    DedupBackend, DedupConfig, DedupStoreConfig, MemoryDedupConfig, OnStoreError, RedisDedupConfig,
    RedisTarget, MAX_TTL,
};
pub(crate) use self::guard::{DedupGuard, Guarded};
pub use self::memory::MemoryStore;
pub use self::off::NoDedup;
pub(crate) use self::redis::check_config as check_redis_config;
pub use self::redis::RedisStore;

/// Told about each data loss a store notices; see [`DedupStore::observe_resets`].
pub type ResetObserver = Arc<dyn Fn() + Send + Sync>;

/// Outcome of [`DedupStore::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody handled or is handling this id: the caller owns it now.
    New,
    /// Handled before: answer 200 without running the handler.
    Done,
    /// Another request (maybe another replica) is handling it: answer 409.
    InProgress,
}

/// The store could not be reached or answered nonsense.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The call did not finish within `dedup.store_timeout_ms`.
    #[error("dedup store timed out")]
    Timeout,
    /// Connection or protocol error. The text never contains credentials.
    #[error("dedup store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Machine-readable reason for logs, metrics and error bodies.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::Timeout => "dedup_store_timeout",
            StoreError::Unavailable(_) => "dedup_store_unavailable",
        }
    }
}

/// A place that remembers which request ids are being, or have been, handled.
///
/// A `claim` by the owner that already holds the claim answers
/// [`Claim::New`] again, so that a call retried after a lost reply is safe.
#[async_trait::async_trait]
pub trait DedupStore: Send + Sync + 'static {
    /// Try to take `request_id` for `owner` for `claim_ttl`.
    async fn claim(
        &self,
        request_id: &str,
        owner: &str,
        claim_ttl: Duration,
    ) -> Result<Claim, StoreError>;
    /// Mark `request_id` handled for `ttl`, only if `owner` still holds the claim.
    async fn finish(&self, request_id: &str, owner: &str, ttl: Duration) -> Result<(), StoreError>;
    /// Drop `owner`'s claim on `request_id` (handler failed): a retry runs again.
    /// Does nothing if `owner` does not hold the claim (or it is already done).
    async fn release(&self, request_id: &str, owner: &str) -> Result<(), StoreError>;
    /// Readiness probe.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Call `observer` each time the store notices that it lost what it
    /// remembered (a Redis restarted without persistence). Stores that
    /// cannot notice such a loss ignore it.
    fn observe_resets(&self, observer: ResetObserver) {
        let _ = observer;
    }
    /// Short name for logs and metrics (`memory`, `redis`, `off`).
    fn name(&self) -> &'static str;
}

/// Build the store chosen by `dedup.backend`. Never waits for a network
/// connection: the Redis backend connects lazily, on its first call.
pub fn from_config(cfg: &DedupConfig) -> Result<Arc<dyn DedupStore>, StoreError> {
    Ok(match &cfg.store {
        DedupStoreConfig::Memory(memory) => Arc::new(MemoryStore::new(memory.max_entries)),
        DedupStoreConfig::Redis(redis) => {
            Arc::new(RedisStore::from_config(redis, cfg.store_timeout)?)
        }
        DedupStoreConfig::Off => {
            tracing::warn!(
                "dedup.backend = \"off\": Messaging.MessageReceived is not de-duplicated, \
                 a re-delivered message runs its handler again"
            );
            Arc::new(NoDedup)
        }
    })
}

/// A fresh owner token for one request attempt: 128 random bits as 32
/// lowercase hex digits.
pub fn new_owner_token() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // The system RNG does not fail in practice; should it, a token that is
        // unique within this process (and very likely across replicas) still
        // keeps owners apart, which is all the token is for.
        fallback_token(&mut bytes);
    }
    let mut out = String::with_capacity(32);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn fallback_token(bytes: &mut [u8; 16]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = count ^ (u64::from(std::process::id()) << 40);
    bytes[..8].copy_from_slice(&nanos.to_be_bytes());
    bytes[8..].copy_from_slice(&mixed.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tokens_are_32_hex_digits_and_distinct() {
        let a = new_owner_token();
        let b = new_owner_token();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn fallback_tokens_are_distinct() {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        fallback_token(&mut a);
        fallback_token(&mut b);
        assert_ne!(a, b);
    }
}
