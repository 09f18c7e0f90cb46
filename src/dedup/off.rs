//! `dedup.backend = "off"`: no de-duplication.

use std::time::Duration;

use super::{Claim, DedupStore, StoreError};

/// A store that remembers nothing: every claim is new.
#[derive(Debug, Default, Clone, Copy)]
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
