//! The memory store as it was before the compact rewrite (sharded
//! `Mutex<HashMap<Arc<str>, Entry>>` with a FIFO of keys, `std::time::Instant`
//! expiries, lazy removal), kept unchanged but for this comment and the
//! test module as the same-run baseline of `benches/dedup.rs` and
//! `examples/dedup_rss.rs`. Not part of the library.
#![allow(dead_code, missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Claim, DedupStore, StoreError};

/// Shards of a full-size store; a store bounded below this has one shard per
/// entry of its bound, so the shards' bounds always add up to at most
/// `max_entries`.
const SHARDS: u64 = 16;

/// What the store remembers about one request id.
#[derive(Debug)]
enum State {
    /// Being handled by `owner`.
    Claimed { owner: Box<str> },
    /// Handled.
    Done,
}

#[derive(Debug)]
struct Entry {
    state: State,
    /// The entry counts as absent from this instant on.
    expires_at: Instant,
    /// Matches the FIFO record written when this entry was inserted.
    generation: u64,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    fn held_by(&self, owner: &str) -> bool {
        matches!(&self.state, State::Claimed { owner: o } if &**o == owner)
    }
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<Arc<str>, Entry>,
    /// Insertion order: (key, generation of the entry inserted then).
    order: VecDeque<(Arc<str>, u64)>,
    next_generation: u64,
}

impl Shard {
    /// The live entry for `key`; an expired one is removed and reads as absent.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| !e.live(now)) {
            self.map.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    /// Insert an entry for `key`, which is absent (callers check with
    /// [`Shard::live`] first), keeping the shard within `capacity`.
    fn insert(
        &mut self,
        key: &str,
        state: State,
        expires_at: Instant,
        now: Instant,
        capacity: usize,
    ) {
        self.make_room(now, capacity);
        let key: Arc<str> = Arc::from(key);
        let generation = self.next_generation;
        self.next_generation += 1;
        self.order.push_back((key.clone(), generation));
        self.map.insert(
            key,
            Entry {
                state,
                expires_at,
                generation,
            },
        );
        if self.order.len() > 2 * self.map.len() + 64 {
            self.compact();
        }
    }

    /// Drop stale and expired records from the front; then, while the shard
    /// is full, evict the oldest entry.
    fn make_room(&mut self, now: Instant, capacity: usize) {
        while let Some((key, generation)) = self.order.front() {
            let evict = match self.map.get(&**key) {
                Some(e) if e.generation == *generation => {
                    !e.live(now) || self.map.len() >= capacity
                }
                _ => true, // stale record: the entry was removed or replaced
            };
            if !evict {
                break;
            }
            if let Some((key, generation)) = self.order.pop_front() {
                if self
                    .map
                    .get(&*key)
                    .is_some_and(|e| e.generation == generation)
                {
                    self.map.remove(&*key);
                }
            }
        }
    }

    /// Keep only the records of entries still in the map.
    fn compact(&mut self) {
        let map = &self.map;
        self.order.retain(|(key, generation)| {
            map.get(&**key).is_some_and(|e| e.generation == *generation)
        });
    }

    fn purge_expired(&mut self, now: Instant) {
        self.map.retain(|_, e| e.live(now));
        self.compact();
    }
}

/// In-process dedup store: at most `max_entries` request ids (claims and
/// done marks), each with its own TTL (claim TTL for claims, `ttl` for done
/// marks). See the module docs for the layout.
///
/// When the bound is reached the oldest entries are evicted, which can forget
/// a done mark early: size `dedup.memory_max_entries` for the message rate
/// times `dedup.ttl_secs`.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    /// Entries per shard; the shards' bounds add up to at most `max_entries`.
    shard_capacity: usize,
    max_entries: u64,
    hasher: RandomState,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.entry_count())
            .field("max_entries", &self.max_entries)
            .finish()
    }
}

impl MemoryStore {
    /// A store that holds at most `max_entries` request ids (at least one).
    pub fn new(max_entries: u64) -> Self {
        let max_entries = max_entries.max(1);
        let shards = SHARDS.min(max_entries);
        let shard_capacity = usize::try_from(max_entries / shards).unwrap_or(usize::MAX);
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            shard_capacity,
            max_entries,
            hasher: RandomState::new(),
        }
    }

    /// Number of entries held (claims and done marks, including expired ones
    /// not yet removed). Never above the bound.
    pub fn entry_count(&self) -> u64 {
        self.shards.iter().map(|s| lock(s).map.len() as u64).sum()
    }

    /// Remove expired entries now (otherwise they go lazily, when touched or
    /// when their shard needs room).
    pub async fn run_pending_tasks(&self) {
        let now = Instant::now();
        for shard in self.shards.iter() {
            lock(shard).purge_expired(now);
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let i = self.hasher.hash_one(key) % self.shards.len() as u64;
        // `i` < shards.len(), which is a usize.
        lock(&self.shards[i as usize])
    }
}

/// A panic while a shard was locked cannot leave it half-updated in a way
/// that matters (every update is a single map operation), so poisoning is
/// ignored.
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
        let now = Instant::now();
        let mut shard = self.shard(request_id);
        Ok(match shard.live(request_id, now) {
            Some(entry) => match &entry.state {
                State::Done => Claim::Done,
                // The holder's own retried claim: not a duplicate (the TTL is
                // not extended).
                State::Claimed { .. } if entry.held_by(owner) => Claim::New,
                State::Claimed { .. } => Claim::InProgress,
            },
            // Absent or expired: take it.
            None => {
                shard.insert(
                    request_id,
                    State::Claimed {
                        owner: Box::from(owner),
                    },
                    now + claim_ttl,
                    now,
                    self.shard_capacity,
                );
                Claim::New
            }
        })
    }

    async fn finish(&self, request_id: &str, owner: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut shard = self.shard(request_id);
        match shard.live(request_id, now) {
            Some(entry) if entry.held_by(owner) => {
                entry.state = State::Done;
                entry.expires_at = now + ttl;
            }
            Some(Entry {
                state: State::Done, ..
            }) => {}
            _ => {
                drop(shard);
                tracing::warn!(
                    request_id,
                    "dedup claim was lost before finish (expired or taken over); \
                     the message may be handled twice"
                );
            }
        }
        Ok(())
    }

    async fn release(&self, request_id: &str, owner: &str) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut shard = self.shard(request_id);
        if shard
            .live(request_id, now)
            .is_some_and(|entry| entry.held_by(owner))
        {
            shard.map.remove(request_id);
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}
