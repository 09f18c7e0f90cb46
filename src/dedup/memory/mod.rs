//! `dedup.backend = "memory"`: a bounded in-process store, for one replica.
//!
//! Sized for a container: about 30 bytes of memory per remembered request id
//! (see README, "Memory dedup sizing").
//!
//! - **Keys**: a request id is stored as a 128-bit keyed digest
//!   ([`digest`]), never as the id itself; the odds that two of a million
//!   held ids share a digest are about 10⁻²⁷.
//! - **Shards**: the digest picks one of up to 4096 shards, each behind its
//!   own mutex, held for a few table operations and never across an
//!   `.await`, which makes each claim/finish/release atomic per id.
//! - **Done marks** live in an open-addressing table of 20-byte slots
//!   (digest + expiry) per shard ([`table`]). **Claims**, which last only as
//!   long as a handler runs, live in a small map next to it with their exact
//!   owner token.
//! - **Time** comes from tokio's clock in whole seconds since the store was
//!   made ([`clock`]); expiries are rounded up, so an entry lives at least its
//!   TTL and less than one second more. An expired entry reads as absent at
//!   once.
//! - **Purge**: a background tokio task sweeps every shard a chunk at a time
//!   ([`purge`]), removing expired entries within about ten seconds and
//!   shrinking tables left sparse, so memory goes back after a mass expiry
//!   and no request ever waits for a purge.
//! - **Bound**: at most `max_entries` entries (claims and done marks). A full
//!   shard evicts, for each new claim, the done mark closest to expiry among
//!   the 32 next to the new id's slot (an expired one first; with the one
//!   `dedup.ttl_secs` that is about the oldest), and claims only when it holds
//!   nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{Claim, DedupStore, StoreError};

mod clock;
mod digest;
mod purge;
mod shard;
mod table;

use self::clock::Clock;
use self::digest::{Digest, Digester};
use self::shard::{Finish, Shard};

/// Entries per shard the shard count aims at: a table that grows this far
/// is rebuilt in well under a millisecond.
const SHARD_TARGET: u64 = 8192;
/// Fewest shards (fewer only when the bound is smaller).
const MIN_SHARDS: u64 = 16;
/// Most shards.
const MAX_SHARDS: u64 = 4096;

/// In-process dedup store: at most `max_entries` request ids (claims and
/// done marks), each with its own TTL (claim TTL for claims, `ttl` for done
/// marks). See the module docs for the layout.
///
/// When the bound is reached, entries closest to expiry are evicted, which
/// can forget a done mark early: size `dedup.memory_max_entries` for the
/// message rate times `dedup.ttl_secs`.
pub struct MemoryStore {
    inner: Arc<Inner>,
    purger_started: AtomicBool,
}

/// What the purge task shares with the store (it holds a weak reference and
/// ends when the store is dropped).
struct Inner {
    shards: Box<[Mutex<Shard>]>,
    digester: Digester,
    clock: Clock,
    max_entries: u64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.entry_count())
            .field("max_entries", &self.inner.max_entries)
            .field("shards", &self.inner.shards.len())
            .finish()
    }
}

impl MemoryStore {
    /// A store that holds at most `max_entries` request ids (at least one).
    /// Nothing is allocated for entries until they arrive.
    ///
    /// Made inside a tokio runtime, it starts its background purge at once;
    /// otherwise with its first claim made inside one.
    pub fn new(max_entries: u64) -> Self {
        let max_entries = max_entries.max(1);
        let shards = max_entries
            .div_ceil(SHARD_TARGET)
            .clamp(MIN_SHARDS, MAX_SHARDS)
            .min(max_entries);
        let shard_capacity = usize::try_from(max_entries / shards).unwrap_or(usize::MAX);
        let store = Self {
            inner: Arc::new(Inner {
                shards: (0..shards)
                    .map(|_| Mutex::new(Shard::new(shard_capacity)))
                    .collect(),
                digester: Digester::random(),
                clock: Clock::start(),
                max_entries,
            }),
            purger_started: AtomicBool::new(false),
        };
        store.start_purger();
        store
    }

    /// Number of entries held (claims and done marks, including expired ones
    /// the background purge has not removed yet). Never above the bound.
    pub fn entry_count(&self) -> u64 {
        self.inner.shards.iter().map(|s| lock(s).len() as u64).sum()
    }

    /// Remove every expired entry now and give back the memory of sparse
    /// tables (the background purge does the same a chunk at a time).
    pub async fn run_pending_tasks(&self) {
        let now = self.inner.clock.now().secs();
        for shard in self.inner.shards.iter() {
            lock(shard).purge_all(now);
        }
    }

    fn start_purger(&self) {
        if self.purger_started.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            if !self.purger_started.swap(true, Ordering::Relaxed) {
                runtime.spawn(purge::run(Arc::downgrade(&self.inner)));
            }
        }
    }
}

impl Inner {
    fn shard(&self, key: Digest) -> MutexGuard<'_, Shard> {
        // Multiply-shift of the digest's word 1 onto 0..shards.
        let i = (u64::from(key.0[1]) * self.shards.len() as u64) >> 32;
        // `i` < shards.len(), which is a usize.
        lock(&self.shards[i as usize])
    }

    fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn slot_count(&self, shard: usize) -> usize {
        lock(&self.shards[shard]).slot_count()
    }

    fn purge_step(&self, shard: usize, budget: usize) -> bool {
        let now = self.clock.now().secs();
        lock(&self.shards[shard]).purge(now, budget)
    }
}

/// A panic while a shard was locked cannot leave it half-updated in a way
/// that matters (the table's invariants hold between slot writes), so
/// poisoning is ignored.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait::async_trait]
impl DedupStore for MemoryStore {
    async fn claim(
        &self,
        request_id: &str,
        owner: &str,
        claim_ttl: Duration,
    ) -> Result<Claim, StoreError> {
        self.start_purger();
        let key = self.inner.digester.digest(request_id);
        let now = self.inner.clock.now();
        Ok(self.inner.shard(key).claim(key, owner, now, claim_ttl))
    }

    async fn finish(&self, request_id: &str, owner: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.inner.digester.digest(request_id);
        let now = self.inner.clock.now();
        let finished = self.inner.shard(key).finish(key, owner, now, ttl);
        if finished == Finish::Lost {
            tracing::warn!(
                request_id,
                "dedup claim was lost before finish (expired or taken over); \
                 the message may be handled twice"
            );
        }
        Ok(())
    }

    async fn release(&self, request_id: &str, owner: &str) -> Result<(), StoreError> {
        let key = self.inner.digester.digest(request_id);
        self.inner.shard(key).release(key, owner);
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests;
