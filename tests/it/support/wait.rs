//! Bounded waiting in tests: poll a check with a short backoff until it
//! holds, and fail naming what was awaited (and what was last seen) when it
//! does not within the bound. Also [`holds_for`], for a condition that must
//! stay true for a while (nothing bad happens meanwhile).
//!
//! Everything runs on tokio's clock, so it works under a paused clock too.
//! Checks may `assert!` on the side: a failed assertion fails the test at once.

use std::time::Duration;

/// First pause between two checks; doubled up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// Longest pause between two checks.
const MAX_PAUSE: Duration = Duration::from_millis(100);
/// Pause between two checks of [`holds_for`].
const HOLD_PAUSE: Duration = Duration::from_millis(100);

/// Wait until `check` answers `true`; panics with `"{what}: not within
/// {within:?}"` otherwise. `what` names the awaited condition.
pub async fn eventually(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    let polled = poll(within, async || {
        if check().await {
            Ok(())
        } else {
            Err(String::new())
        }
    })
    .await;
    if polled.is_err() {
        panic!("{what}: not within {within:?}");
    }
}

/// Wait until `check` answers `Ok(value)` and return the value. `Err(seen)`
/// means "not yet" and says what the check saw; on timeout the panic message
/// is `"{what}: not within {within:?}; last seen: {seen}"`.
pub async fn wait_for<T>(
    what: &str,
    within: Duration,
    check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    match poll(within, check).await {
        Ok(value) => value,
        Err(Some(seen)) => panic!("{what}: not within {within:?}; last seen: {seen}"),
        Err(None) => panic!("{what}: not within {within:?} (the first check never finished)"),
    }
}

/// Check repeatedly, from now until `period` has passed (once more at its
/// end), that the condition holds; `Err(seen)` means it is broken, and the
/// test panics with `"{what}: broken within {period:?}: {seen}"`. For
/// "nothing happens meanwhile", not for waiting: it always takes `period`.
pub async fn holds_for(
    what: &str,
    period: Duration,
    mut check: impl AsyncFnMut() -> Result<(), String>,
) {
    let end = tokio::time::Instant::now() + period;
    loop {
        if let Err(seen) = check().await {
            panic!("{what}: broken within {period:?}: {seen}");
        }
        let now = tokio::time::Instant::now();
        if now >= end {
            return;
        }
        tokio::time::sleep((end - now).min(HOLD_PAUSE)).await;
    }
}

/// `check`'s first `Ok`, or after `within` what its last `Err` said (`None`
/// when not even one check finished).
async fn poll<T>(
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, Option<String>> {
    let mut last_seen = None;
    let polling = async {
        let mut pause = FIRST_PAUSE;
        loop {
            match check().await {
                Ok(value) => return value,
                Err(seen) => last_seen = Some(seen),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    };
    tokio::time::timeout(within, polling)
        .await
        .map_err(|_| last_seen)
}

#[cfg(test)]
mod tests {
    use std::future::pending;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn eventually_returns_once_the_check_holds() {
        let mut checks = 0;
        eventually("three checks", SECOND, async || {
            checks += 1;
            checks == 3
        })
        .await;
        assert_eq!(checks, 3);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "the flag set: not within 1s")]
    async fn eventually_fails_naming_what_it_waited_for() {
        eventually("the flag set", SECOND, async || false).await;
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_returns_the_value_found() {
        let mut n = 0;
        let found = wait_for("n at 3", SECOND, async || {
            n += 1;
            if n == 3 {
                Ok(n)
            } else {
                Err(format!("n = {n}"))
            }
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "n at 3: not within 1s; last seen: n = 2")]
    async fn wait_for_fails_with_what_it_saw_last() {
        let mut n = 0;
        wait_for::<()>("n at 3", SECOND, async || {
            n = (n + 1).min(2);
            Err(format!("n = {n}"))
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "an answer: not within 1s (the first check never finished)")]
    async fn a_hanging_check_is_bounded_too() {
        wait_for::<()>("an answer", SECOND, async || pending().await).await;
    }

    #[tokio::test(start_paused = true)]
    async fn holds_for_checks_until_the_end_of_the_period() {
        let start = tokio::time::Instant::now();
        let mut last_check = start;
        holds_for("nothing", SECOND, async || {
            last_check = tokio::time::Instant::now();
            Ok(())
        })
        .await;
        assert_eq!(last_check - start, SECOND);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "the count at 0: broken within 1s: count 1")]
    async fn holds_for_fails_when_the_condition_breaks() {
        let mut checks = 0;
        holds_for("the count at 0", SECOND, async || {
            checks += 1;
            match checks {
                1..=3 => Ok(()),
                _ => Err("count 1".to_owned()),
            }
        })
        .await;
    }
}
