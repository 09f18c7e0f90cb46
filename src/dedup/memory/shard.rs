//! One shard: the done marks, the claims in progress, and the bound on both.

use std::collections::HashMap;
use std::time::Duration;

use super::clock::Now;
use super::digest::{Digest, PassThroughState};
use super::table::DoneTable;
use crate::dedup::Claim;

/// A request being handled by `owner`. Claims last as long as a handler
/// runs, so there are few of them: they keep their owner token as given
/// (compare-and-set on the exact token).
#[derive(Debug)]
struct Claimed {
    owner: Box<str>,
    expires: u32,
}

/// Outcome of [`Shard::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Finish {
    /// The owner's claim is now a done mark.
    Marked,
    /// Already done: nothing to do.
    AlreadyDone,
    /// The claim expired or belongs to someone else.
    Lost,
}

/// Done marks and claims of one shard, `capacity` entries at most in all.
/// A request id is in at most one of the two.
#[derive(Debug)]
pub(super) struct Shard {
    done: DoneTable,
    claims: HashMap<Digest, Claimed, PassThroughState>,
    capacity: usize,
}

impl Shard {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            done: DoneTable::new(capacity),
            claims: HashMap::default(),
            capacity,
        }
    }

    /// Entries held (claims and done marks, including expired ones not yet
    /// removed).
    pub(super) fn len(&self) -> usize {
        self.done.len() + self.claims.len()
    }

    /// Done-mark slots allocated.
    pub(super) fn slot_count(&self) -> usize {
        self.done.slot_count()
    }

    pub(super) fn claim(&mut self, key: Digest, owner: &str, now: Now, ttl: Duration) -> Claim {
        let secs = now.secs();
        if self.done.contains_live(key, secs) {
            return Claim::Done;
        }
        if let Some(claim) = self.claims.get(&key) {
            if claim.expires > secs {
                // The holder's own retried claim is not a duplicate (the TTL
                // is not extended).
                return if &*claim.owner == owner {
                    Claim::New
                } else {
                    Claim::InProgress
                };
            }
            self.claims.remove(&key);
        }
        self.make_room(key, secs);
        self.claims.insert(
            key,
            Claimed {
                owner: Box::from(owner),
                expires: now.expiry(ttl),
            },
        );
        Claim::New
    }

    pub(super) fn finish(&mut self, key: Digest, owner: &str, now: Now, ttl: Duration) -> Finish {
        let secs = now.secs();
        let held = self
            .claims
            .get(&key)
            .map(|claim| claim.expires > secs && &*claim.owner == owner);
        match held {
            Some(true) => {
                self.claims.remove(&key);
                // Same count as before: no room to make.
                self.done.insert(key, now.expiry(ttl), secs);
                Finish::Marked
            }
            Some(false) => Finish::Lost,
            None if self.done.contains_live(key, secs) => Finish::AlreadyDone,
            None => Finish::Lost,
        }
    }

    /// Drop `owner`'s claim on `key`, if it holds it.
    pub(super) fn release(&mut self, key: Digest, owner: &str) {
        if self
            .claims
            .get(&key)
            .is_some_and(|claim| &*claim.owner == owner)
        {
            self.claims.remove(&key);
        }
    }

    /// While the shard is full: evict the done mark closest to expiry among
    /// a sample next to `near`'s slot; with no done marks left, drop expired
    /// claims, then the claim closest to expiry.
    fn make_room(&mut self, near: Digest, now: u32) {
        while self.len() >= self.capacity {
            if self.done.evict_near(near) {
                continue;
            }
            self.claims.retain(|_, claim| claim.expires > now);
            if self.len() < self.capacity {
                break;
            }
            let soonest = self
                .claims
                .iter()
                .min_by_key(|(_, claim)| claim.expires)
                .map(|(key, _)| *key);
            match soonest {
                Some(key) => {
                    self.claims.remove(&key);
                }
                None => break,
            }
        }
    }

    /// Background purge step: sweep up to `budget` done-mark slots; when a
    /// pass over the table completes, also drop expired claims and give back
    /// memory of tables and maps left sparse. True when a pass completed.
    pub(super) fn purge(&mut self, now: u32, budget: usize) -> bool {
        let passed = self.done.sweep(now, budget);
        if passed {
            self.tidy(now);
        }
        passed
    }

    /// Remove every expired entry now and give back memory.
    pub(super) fn purge_all(&mut self, now: u32) {
        self.done.sweep_all(now);
        self.tidy(now);
    }

    fn tidy(&mut self, now: u32) {
        self.done.shrink_if_sparse(now);
        self.claims.retain(|_, claim| claim.expires > now);
        if self.claims.capacity() > 64 && self.claims.len() * 4 < self.claims.capacity() {
            self.claims.shrink_to(self.claims.len() * 2);
        }
    }
}
