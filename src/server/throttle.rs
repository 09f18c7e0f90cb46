//! [`Throttled`]: a warning that is logged at most once per [`WARN_EVERY`].

use std::time::Duration;

use tokio::time::Instant;

/// Time between two warnings of the same kind.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

/// A warning logged at most once per [`WARN_EVERY`], with the number of
/// occurrences it stands for.
#[derive(Debug, Default)]
pub(crate) struct Throttled {
    last: Option<Instant>,
    count: u64,
}

impl Throttled {
    /// A warning not yet logged.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Count one occurrence; `Some(occurrences)` when it is time to log.
    pub(crate) fn hit(&mut self) -> Option<u64> {
        self.count += 1;
        let now = Instant::now();
        if self.last.is_some_and(|last| now < last + WARN_EVERY) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn logs_the_first_then_once_per_period_with_the_count() {
        let mut t = Throttled::new();
        assert_eq!(t.hit(), Some(1));
        assert_eq!(t.hit(), None);
        assert_eq!(t.hit(), None);
        tokio::time::advance(WARN_EVERY).await;
        assert_eq!(t.hit(), Some(3));
    }
}
