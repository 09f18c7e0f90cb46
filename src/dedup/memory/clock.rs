//! Whole seconds since the store was made, read from tokio's clock (so tests
//! can pause and advance it).

use std::time::Duration;

use tokio::time::Instant;

/// The store's time base: expiries are `u32` seconds after `epoch`, which
/// lasts 136 years.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    epoch: Instant,
}

/// One reading of the clock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Now {
    elapsed: Duration,
}

impl Clock {
    pub(super) fn start() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    pub(super) fn now(&self) -> Now {
        Now {
            elapsed: Instant::now().saturating_duration_since(self.epoch),
        }
    }
}

impl Now {
    /// Whole seconds elapsed (rounded down). An entry with expiry `e` is live
    /// while `secs() < e`, i.e. while the precise time is below `e` seconds.
    pub(super) fn secs(self) -> u32 {
        u32::try_from(self.elapsed.as_secs()).unwrap_or(u32::MAX)
    }

    /// Expiry of an entry written now with `ttl`: rounded *up* to a whole
    /// second, so an entry lives at least `ttl` and less than `ttl` + 1 s.
    /// Never 0, which marks an empty slot.
    pub(super) fn expiry(self, ttl: Duration) -> u32 {
        let at = self.elapsed.saturating_add(ttl);
        let secs = at
            .as_secs()
            .saturating_add(u64::from(at.subsec_nanos() > 0));
        u32::try_from(secs).unwrap_or(u32::MAX).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Now {
        Now {
            elapsed: Duration::from_millis(ms),
        }
    }

    #[test]
    fn expiry_rounds_up_and_liveness_never_ends_early() {
        assert_eq!(at(0).expiry(Duration::from_secs(10)), 10);
        assert_eq!(at(300).expiry(Duration::from_secs(10)), 11);
        assert_eq!(at(0).expiry(Duration::ZERO), 1);
        // Live exactly while the precise time is below the expiry.
        let e = at(300).expiry(Duration::from_millis(1500)); // 1.8 s → 2
        assert_eq!(e, 2);
        assert!(at(1999).secs() < e);
        assert!(at(2000).secs() >= e);
    }

    #[test]
    fn huge_ttls_saturate() {
        assert_eq!(at(0).expiry(Duration::MAX), u32::MAX);
        assert_eq!(at(5).expiry(Duration::from_secs(u64::MAX)), u32::MAX);
    }
}
