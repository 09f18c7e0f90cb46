//! De-duplication of `Messaging.MessageReceived` by `requestId`.
//!
//! Idempotency as claim-then-finish: claim with a short TTL (the handler
//! deadline plus a margin, so a crashed replica's claim expires), run the
//! handler, then mark finished with a long TTL (`dedup.ttl_secs`), or release
//! the claim when the handler failed so that Alexa's retry runs it again.
//!
//! INTERFACE CONTRACT (stub — to be implemented in full by the dedup work).

use std::sync::Arc;
use std::time::Duration;

use crate::config::DedupConfig;

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
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The call did not finish within `dedup.store_timeout_ms`.
    #[error("dedup store timed out")]
    Timeout,
    /// Connection or protocol error.
    #[error("dedup store unavailable: {0}")]
    Unavailable(String),
}

/// A place that remembers which request ids are being, or have been, handled.
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
    async fn release(&self, request_id: &str, owner: &str) -> Result<(), StoreError>;
    /// Readiness probe.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Short name for logs and metrics (`memory`, `redis`, `off`).
    fn name(&self) -> &'static str;
}

/// A store that remembers nothing: every claim is new.
#[derive(Debug, Default)]
pub struct NoDedup;

#[async_trait::async_trait]
impl DedupStore for NoDedup {
    async fn claim(&self, _: &str, _: &str, _: Duration) -> Result<Claim, StoreError> {
        Ok(Claim::New)
    }
    async fn finish(&self, _: &str, _: &str, _: Duration) -> Result<(), StoreError> {
        Ok(())
    }
    async fn release(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn name(&self) -> &'static str {
        "off"
    }
}

/// Build the store chosen by `dedup.backend`. Never waits for a network
/// connection: the Redis backend connects lazily.
pub fn from_config(_cfg: &DedupConfig) -> Result<Arc<dyn DedupStore>, StoreError> {
    Ok(Arc::new(NoDedup))
}

/// A fresh owner token for one claim attempt.
pub fn new_owner_token() -> String {
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
