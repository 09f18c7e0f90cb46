//! When an Alexa API call is tried again, and after how long: the one retry
//! policy of every client (List Management, Reminders, Skill Messaging,
//! Proactive Events, Login with Amazon).
//!
//! - **What is retried**: 429 and 5xx answers, timeouts and transport errors
//!   — but only where a second attempt cannot do the work twice:
//!
//!   | failure | idempotent call (GET, PUT, DELETE, LWA token) | non-idempotent call (POST create, send) |
//!   |---|---|---|
//!   | 429, 503 | retried | retried: the server says it did not process the request |
//!   | other 5xx (500, 502, 504, ...) | retried | **not** retried: it may have been processed |
//!   | connection refused (nothing sent) | retried | retried |
//!   | timeout, reset after sending, unreadable answer | retried | **not** retried: ambiguous |
//!   | any other status (400, 401, 403, 404, 409, ...) | never | never |
//!
//! - **How long to wait**: the answer's `Retry-After` (seconds or an HTTP
//!   date) when it has one, else a jittered exponential backoff
//!   ([`BACKOFF_BASE`] doubling up to [`BACKOFF_MAX`], a random half of it
//!   subtracted so that callers that failed together do not retry together).
//! - **How often**: at most [`MAX_ATTEMPTS`] attempts, and a retry is only
//!   made when the wait ends before the deadline (a handler's: the pipeline
//!   answers 503 at the deadline anyway) with [`MIN_ATTEMPT_TIME`] to spare.
//!   A wait beyond it fails at once with the (transient) error, so the
//!   handler can answer 503 and Alexa re-delivers later. Without a deadline
//!   (CLI, app code) a wait longer than [`MAX_WAIT_WITHOUT_DEADLINE`] fails at
//!   once.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

/// Most attempts of one call, the first included.
pub const MAX_ATTEMPTS: u32 = 4;
/// Backoff before the first retry when the answer has no `Retry-After`.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Longest backoff between two attempts when there is no `Retry-After`.
pub const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// A retry is only made if at least this much time is left for the attempt
/// itself once the wait is over.
pub const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(100);
/// Without a deadline, the longest wait (e.g. `Retry-After`) that is honoured.
pub const MAX_WAIT_WITHOUT_DEADLINE: Duration = Duration::from_secs(30);

/// Whether sending a call twice is harmless. Decides which failures are
/// retried (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Doing it twice has the effect of doing it once: GET, PUT, DELETE, a
    /// token request.
    Idempotent,
    /// Doing it twice does it twice: a POST that creates, a message or
    /// notification send.
    NonIdempotent,
}

/// How one attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An answer with this status (not 2xx).
    Status(u16),
    /// The request never left (connection refused, DNS, TLS handshake).
    NotSent,
    /// It may have been processed: timeout or reset after sending, or an
    /// answer that could not be read.
    Ambiguous,
}

impl Failure {
    /// Whether a call of this kind may be tried again after this failure.
    pub(crate) fn is_retryable(self, idempotency: Idempotency) -> bool {
        let idempotent = idempotency == Idempotency::Idempotent;
        match self {
            Failure::Status(429 | 503) => true,
            Failure::Status(500..=599) => idempotent,
            Failure::Status(_) => false,
            Failure::NotSent => true,
            Failure::Ambiguous => idempotent,
        }
    }
}

/// The wait before retry number `retry` (1 for the first retry) when the
/// answer said nothing: `BACKOFF_BASE * 2^(retry-1)`, capped at
/// [`BACKOFF_MAX`], minus a random part of up to half of it.
pub(crate) fn backoff(retry: u32) -> Duration {
    let exp = BACKOFF_BASE
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    let half = exp / 2;
    // Jitter needs no cryptographic randomness: std's randomly keyed hasher
    // gives a different value per call.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = (random % 1_000) as u32;
    exp - half * fraction / 1_000
}

/// Decide whether to retry after attempt number `attempt` (1 for the first)
/// failed with `failure`; `retry_after` is the answer's header.
///
/// `Ok(wait)`: sleep `wait`, then try again. `Err(reason)`: give up now and
/// return the attempt's error (`reason` is for the log).
pub(crate) fn decide(
    idempotency: Idempotency,
    failure: Failure,
    retry_after: Option<Duration>,
    attempt: u32,
    deadline: Option<Instant>,
    now: Instant,
) -> Result<Duration, &'static str> {
    if !failure.is_retryable(idempotency) {
        return Err("not retryable");
    }
    if attempt >= MAX_ATTEMPTS {
        return Err("attempts exhausted");
    }
    let wait = retry_after.unwrap_or_else(|| backoff(attempt));
    match deadline {
        Some(deadline) => {
            let ready = now
                .checked_add(wait)
                .and_then(|t| t.checked_add(MIN_ATTEMPT_TIME));
            match ready {
                Some(ready) if ready <= deadline => Ok(wait),
                _ => Err("the wait ends past the deadline"),
            }
        }
        None if wait <= MAX_WAIT_WITHOUT_DEADLINE => Ok(wait),
        None => Err("the wait is too long"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Idempotency::*;

    #[test]
    fn what_is_retried() {
        for (failure, idempotent, non_idempotent) in [
            (Failure::Status(429), true, true),
            (Failure::Status(503), true, true),
            (Failure::Status(500), true, false),
            (Failure::Status(502), true, false),
            (Failure::Status(504), true, false),
            (Failure::NotSent, true, true),
            (Failure::Ambiguous, true, false),
            (Failure::Status(400), false, false),
            (Failure::Status(401), false, false),
            (Failure::Status(403), false, false),
            (Failure::Status(404), false, false),
            (Failure::Status(409), false, false),
        ] {
            assert_eq!(failure.is_retryable(Idempotent), idempotent, "{failure:?}");
            assert_eq!(
                failure.is_retryable(NonIdempotent),
                non_idempotent,
                "{failure:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half() {
        for retry in 1..=8 {
            let exp = (BACKOFF_BASE * (1 << (retry - 1))).min(BACKOFF_MAX);
            for _ in 0..50 {
                let b = backoff(retry);
                assert!(b <= exp && b >= exp / 2, "retry {retry}: {b:?}");
            }
        }
        let distinct: std::collections::HashSet<Duration> = (0..20).map(|_| backoff(3)).collect();
        assert!(distinct.len() > 1, "no jitter");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_only_within_the_deadline() {
        let now = Instant::now();
        let deadline = Some(now + Duration::from_secs(5));
        let s = |secs| Some(Duration::from_secs(secs));
        let f = Failure::Status(429);
        assert_eq!(
            decide(NonIdempotent, f, s(1), 1, deadline, now),
            Ok(Duration::from_secs(1))
        );
        assert!(decide(NonIdempotent, f, s(5), 1, deadline, now).is_err());
        assert!(decide(NonIdempotent, f, s(3600), 1, deadline, now).is_err());
        assert!(decide(NonIdempotent, f, s(1), MAX_ATTEMPTS, deadline, now).is_err());
        assert_eq!(
            decide(Idempotent, f, s(29), 1, None, now),
            Ok(Duration::from_secs(29))
        );
        assert!(decide(Idempotent, f, s(31), 1, None, now).is_err());
        let waited = decide(Idempotent, Failure::Status(500), None, 2, deadline, now);
        assert!(
            matches!(waited, Ok(w) if w <= BACKOFF_BASE * 2),
            "{waited:?}"
        );
        assert!(decide(Idempotent, Failure::Status(400), None, 1, deadline, now).is_err());
    }
}
