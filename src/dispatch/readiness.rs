//! [`Readiness`]: an optional check of what a skill's handlers depend on (a
//! broker, say), which `GET /readyz` runs besides the dedup store's.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::dispatch::BoxError;

type Check = dyn Fn() -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync;

/// A named readiness check. Its error text goes to the log only, never into
/// the `/readyz` body.
#[derive(Clone)]
pub struct Readiness {
    name: &'static str,
    check: Arc<Check>,
}

impl Readiness {
    /// A check called `name` (shown in `/readyz`, e.g. `nats`).
    pub fn new<F>(name: &'static str, check: F) -> Self
    where
        F: Fn() -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync + 'static,
    {
        Self {
            name,
            check: Arc::new(check),
        }
    }

    /// The name shown in `/readyz`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Run the check.
    pub async fn check(&self) -> Result<(), BoxError> {
        (self.check)().await
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
