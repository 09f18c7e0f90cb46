//! The background purge: a tokio task that sweeps every shard a little at a
//! time, so that expired entries go and their memory is given back without a
//! request ever paying for it.

use std::sync::Weak;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::Inner;

/// How often the task wakes up.
pub(super) const TICK: Duration = Duration::from_secs(1);

/// A pass over a shard's table takes about this many ticks.
const TICKS_PER_PASS: usize = 8;

/// Fewest slots swept per shard and tick.
const MIN_BUDGET: usize = 256;

/// Most slots swept under one lock (a few microseconds); the task yields
/// between chunks.
const CHUNK: usize = 2048;

/// Run until the store is dropped.
pub(super) async fn run(store: Weak<Inner>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shards) = store.upgrade().map(|s| s.shard_count()) else {
            return;
        };
        for i in 0..shards {
            let Some(mut budget) = store
                .upgrade()
                .map(|s| (s.slot_count(i) / TICKS_PER_PASS).max(MIN_BUDGET))
            else {
                return;
            };
            loop {
                let chunk = budget.min(CHUNK);
                let Some(passed) = store.upgrade().map(|s| s.purge_step(i, chunk)) else {
                    return;
                };
                budget -= chunk;
                if passed || budget == 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            tokio::task::yield_now().await;
        }
    }
}
