//! `dedup.backend = "memory"`: a bounded in-process cache, for one replica.

use std::future::ready;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};
use moka::Expiry;

use super::{Claim, DedupStore, StoreError};

/// What the cache remembers about one request id.
#[derive(Debug, Clone)]
enum State {
    /// Being handled by `owner`; expires after the claim TTL.
    Claimed { owner: Arc<str>, ttl: Duration },
    /// Handled; expires after `dedup.ttl_secs`.
    Done { ttl: Duration },
}

impl State {
    fn ttl(&self) -> Duration {
        match self {
            State::Claimed { ttl, .. } | State::Done { ttl } => *ttl,
        }
    }

    fn held_by(&self, owner: &str) -> bool {
        matches!(self, State::Claimed { owner: o, .. } if &**o == owner)
    }
}

/// Each entry lives for the TTL it was written with; reads do not extend it.
struct PerEntryTtl;

impl Expiry<String, State> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, value: &State, _: Instant) -> Option<Duration> {
        Some(value.ttl())
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &State,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl())
    }
}

/// In-process dedup store: a moka cache bounded to `max_entries` entries,
/// each with its own TTL (claim TTL for claims, `ttl` for done marks).
///
/// Every operation is one `and_compute_with`, which moka serialises per key,
/// so concurrent claims of one id cannot both see it absent. When the bound
/// is reached moka evicts entries (TinyLFU), which can forget a done mark
/// early: size `dedup.memory_max_entries` for the message rate times
/// `dedup.ttl_secs`.
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<String, State>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.cache.entry_count())
            .field("max_entries", &self.cache.policy().max_capacity())
            .finish()
    }
}

impl MemoryStore {
    /// A store that holds at most `max_entries` request ids.
    pub fn new(max_entries: u64) -> Self {
        let cache = Cache::builder()
            .name("dedup")
            .max_capacity(max_entries)
            .expire_after(PerEntryTtl)
            .build();
        Self { cache }
    }

    /// Approximate number of entries (claims and done marks). Exact after
    /// [`MemoryStore::run_pending_tasks`].
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Apply pending evictions and expirations now (moka does this lazily).
    pub async fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks().await;
    }
}

#[async_trait::async_trait]
impl DedupStore for MemoryStore {
    async fn claim(
        &self,
        request_id: &str,
        owner: &str,
        claim_ttl: Duration,
    ) -> Result<Claim, StoreError> {
        let result = self
            .cache
            .entry_by_ref(request_id)
            .and_compute_with(|current| {
                ready(match current {
                    // Absent or expired: take it.
                    None => Op::Put(State::Claimed {
                        owner: Arc::from(owner),
                        ttl: claim_ttl,
                    }),
                    Some(_) => Op::Nop,
                })
            })
            .await;
        Ok(match result {
            CompResult::Inserted(_) => Claim::New,
            CompResult::Unchanged(entry) => match entry.value() {
                State::Done { .. } => Claim::Done,
                state if state.held_by(owner) => Claim::New,
                State::Claimed { .. } => Claim::InProgress,
            },
            // Not produced by the closure above (no Remove, Put only when absent).
            CompResult::StillNone(_) | CompResult::ReplacedWith(_) | CompResult::Removed(_) => {
                Claim::InProgress
            }
        })
    }

    async fn finish(&self, request_id: &str, owner: &str, ttl: Duration) -> Result<(), StoreError> {
        let result = self
            .cache
            .entry_by_ref(request_id)
            .and_compute_with(|current| {
                ready(match current {
                    Some(entry) if entry.value().held_by(owner) => Op::Put(State::Done { ttl }),
                    _ => Op::Nop,
                })
            })
            .await;
        match result {
            CompResult::ReplacedWith(_) => {}
            CompResult::Unchanged(entry) if matches!(entry.value(), State::Done { .. }) => {}
            _ => tracing::warn!(
                request_id,
                "dedup claim was lost before finish (expired or taken over); \
                 the message may be handled twice"
            ),
        }
        Ok(())
    }

    async fn release(&self, request_id: &str, owner: &str) -> Result<(), StoreError> {
        self.cache
            .entry_by_ref(request_id)
            .and_compute_with(|current| {
                ready(match current {
                    Some(entry) if entry.value().held_by(owner) => Op::Remove,
                    _ => Op::Nop,
                })
            })
            .await;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
