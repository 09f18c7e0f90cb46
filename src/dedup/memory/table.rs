//! The done marks of one shard: an open-addressing table from [`Digest`] to
//! expiry, 20 bytes a slot, at most 3/4 full.
//!
//! Linear probing from a home slot picked by the digest's word 0; removal
//! shifts the rest of the probe run back (no tombstones, so the table never
//! fills up with dead slots). The table grows by doubling up to the size its
//! shard's bound needs and no further; it shrinks when a sweep finds it at
//! most 1/8 full, and an empty table frees its slots altogether.

use super::digest::Digest;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: Digest,
    /// Store seconds; 0 marks an empty slot (no live expiry is 0).
    expires: u32,
}

const EMPTY: Slot = Slot {
    key: Digest([0; 4]),
    expires: 0,
};

/// Smallest allocated table.
const MIN_SLOTS: usize = 16;

/// Occupied slots looked at to pick an entry to evict.
const EVICTION_SAMPLE: usize = 32;

/// Slots for `entries` at a load of at most 3/4, with at least one slot empty
/// (which ends every probe).
fn slots_for(entries: usize) -> usize {
    entries
        .saturating_mul(4)
        .div_ceil(3)
        .saturating_add(1)
        .max(MIN_SLOTS)
}

/// Done marks of one shard (see the module docs).
#[derive(Debug)]
pub(super) struct DoneTable {
    slots: Vec<Slot>,
    len: usize,
    /// Size needed for the shard's bound; growth stops here.
    max_slots: usize,
    /// Where the background sweep goes on.
    cursor: usize,
}

impl DoneTable {
    /// An empty table (no allocation) for at most `capacity` entries.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
            max_slots: slots_for(capacity),
            cursor: 0,
        }
    }

    /// Entries held, live or expired but not yet removed.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Slots allocated.
    pub(super) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    fn home(&self, key: Digest) -> usize {
        // Multiply-shift maps the uniform word onto 0..len without a division.
        ((u128::from(key.0[0]) * self.slots.len() as u128) >> 32) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    fn find(&self, key: Digest) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot.expires == 0 {
                return None;
            }
            if slot.key == key {
                return Some(i);
            }
            i = self.next(i);
        }
    }

    /// Whether `key` is held and live at `now`. An expired entry found on the
    /// way is removed.
    pub(super) fn contains_live(&mut self, key: Digest, now: u32) -> bool {
        match self.find(key) {
            Some(i) if self.slots[i].expires > now => true,
            Some(i) => {
                self.remove_at(i);
                false
            }
            None => false,
        }
    }

    /// Add `key`, which must be absent (callers look it up first), expiring
    /// at `expires` (≥ 1). The first expired slot on its probe run is reused.
    pub(super) fn insert(&mut self, key: Digest, expires: u32, now: u32) {
        debug_assert!(expires > 0 && self.find(key).is_none());
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow(now);
        }
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot.expires == 0 {
                self.len += 1;
                break;
            }
            if slot.expires <= now {
                // Replacing an occupied slot keeps every probe run intact.
                break;
            }
            i = self.next(i);
        }
        self.slots[i] = Slot { key, expires };
    }

    /// Remove the entry closest to expiry among the first
    /// [`EVICTION_SAMPLE`] entries from `near`'s home slot on (an expired one
    /// if there is one there). False when the table is empty.
    pub(super) fn evict_near(&mut self, near: Digest) -> bool {
        if self.len == 0 {
            return false;
        }
        let mut i = self.home(near);
        let mut best: Option<(u32, usize)> = None;
        let mut seen = 0;
        for _ in 0..self.slots.len() {
            let slot = self.slots[i];
            if slot.expires != 0 {
                if best.is_none_or(|(expires, _)| slot.expires < expires) {
                    best = Some((slot.expires, i));
                }
                seen += 1;
                if seen == EVICTION_SAMPLE {
                    break;
                }
            }
            i = self.next(i);
        }
        match best {
            Some((_, i)) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// Remove expired entries among the next `budget` slots from the sweep
    /// cursor. True when the sweep reached the end of the table (a pass is
    /// complete; the next one starts at slot 0).
    pub(super) fn sweep(&mut self, now: u32, budget: usize) -> bool {
        if self.slots.is_empty() {
            self.cursor = 0;
            return true;
        }
        if self.cursor >= self.slots.len() {
            self.cursor = 0;
        }
        for _ in 0..budget {
            let slot = self.slots[self.cursor];
            if slot.expires != 0 && slot.expires <= now {
                // The rest of the run shifts into this slot: look again.
                self.remove_at(self.cursor);
                continue;
            }
            self.cursor += 1;
            if self.cursor == self.slots.len() {
                self.cursor = 0;
                return true;
            }
        }
        false
    }

    /// One whole pass from slot 0.
    pub(super) fn sweep_all(&mut self, now: u32) {
        self.cursor = 0;
        self.sweep(now, usize::MAX);
    }

    /// Give memory back when at most 1/8 of the slots are used: rebuild at a
    /// load of 3/8, or free the slots of an empty table.
    pub(super) fn shrink_if_sparse(&mut self, now: u32) {
        if self.len == 0 {
            self.slots = Vec::new();
            self.cursor = 0;
        } else if self.slots.len() > MIN_SLOTS && self.len * 8 <= self.slots.len() {
            self.rebuild(slots_for(self.len * 2), now);
        }
    }

    fn grow(&mut self, now: u32) {
        let mut target = self.slots.len().saturating_mul(2).min(self.max_slots);
        if (self.len + 1) * 4 > target * 3 {
            // Only when the shard's bound is not kept: never refuse an entry.
            target = slots_for(self.len + 1);
        }
        self.rebuild(target, now);
    }

    /// Re-place every live entry into `slots` new slots (expired ones are
    /// dropped on the way).
    fn rebuild(&mut self, slots: usize, now: u32) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; slots.max(MIN_SLOTS)]);
        self.len = 0;
        self.cursor = 0;
        for slot in old {
            if slot.expires > now {
                let mut i = self.home(slot.key);
                while self.slots[i].expires != 0 {
                    i = self.next(i);
                }
                self.slots[i] = slot;
                self.len += 1;
            }
        }
    }

    /// Empty slot `hole`, shifting back the entries after it that may sit
    /// closer to their home slot.
    fn remove_at(&mut self, mut hole: usize) {
        let n = self.slots.len();
        let mut j = self.next(hole);
        loop {
            let slot = self.slots[j];
            if slot.expires == 0 {
                break;
            }
            let home = self.home(slot.key);
            // `slot` may move into the hole if the hole lies on its probe run
            // (cyclically within home..j).
            if (j + n - home) % n >= (j + n - hole) % n {
                self.slots[hole] = slot;
                hole = j;
            }
            j = self.next(j);
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Digest {
        // Spread word 0 like a real digest; keep `n` visible in word 3.
        Digest([n.wrapping_mul(0x9e37_79b9), n, 0, n])
    }

    /// Every entry is reachable from its home slot through occupied slots.
    fn assert_consistent(t: &DoneTable) {
        let held = t.slots.iter().filter(|s| s.expires != 0).count();
        assert_eq!(held, t.len);
        for s in t.slots.iter().filter(|s| s.expires != 0) {
            assert!(t.find(s.key).is_some());
        }
        if !t.slots.is_empty() {
            assert!(t.len < t.slots.len());
        }
    }

    #[test]
    fn insert_find_remove_many_with_wraparound() {
        let mut t = DoneTable::new(1000);
        for n in 0..1000 {
            t.insert(key(n), 100, 0);
        }
        assert_consistent(&t);
        assert!(t.slot_count() <= slots_for(1000));
        for n in (0..1000).step_by(3) {
            let i = t.find(key(n)).expect("held");
            t.remove_at(i);
        }
        assert_consistent(&t);
        for n in 0..1000 {
            assert_eq!(t.contains_live(key(n), 0), n % 3 != 0, "key {n}");
        }
    }

    #[test]
    fn expired_entries_read_absent_and_their_slots_are_reused() {
        let mut t = DoneTable::new(10);
        t.insert(key(1), 5, 0);
        assert!(t.contains_live(key(1), 4));
        assert!(!t.contains_live(key(1), 5));
        assert_eq!(t.len(), 0);
        t.insert(key(2), 5, 0);
        t.insert(key(3), 50, 10); // reuses the expired slot of key 2 if on its run
        assert!(t.contains_live(key(3), 10));
        assert!(!t.contains_live(key(2), 10));
        assert_consistent(&t);
    }

    #[test]
    fn sweep_removes_expired_and_shrink_returns_slots() {
        let mut t = DoneTable::new(10_000);
        for n in 0..10_000 {
            t.insert(key(n), if n < 9_900 { 10 } else { 1000 }, 0);
        }
        let full = t.slot_count();
        let mut passes = 0;
        while passes < 1 {
            if t.sweep(10, 700) {
                passes += 1;
            }
        }
        assert_eq!(t.len(), 100);
        assert_consistent(&t);
        t.shrink_if_sparse(10);
        assert!(t.slot_count() * 20 < full, "{} of {full}", t.slot_count());
        for n in 9_900..10_000 {
            assert!(t.contains_live(key(n), 10));
        }
        t.sweep_all(1000);
        t.shrink_if_sparse(1000);
        assert_eq!((t.len(), t.slot_count()), (0, 0));
    }

    #[test]
    fn eviction_takes_the_soonest_expiring_of_a_small_table() {
        let mut t = DoneTable::new(8);
        for n in 0..8 {
            t.insert(key(n), 100 + n, 0);
        }
        assert!(t.evict_near(key(99)));
        assert!(!t.contains_live(key(0), 0));
        assert!(t.contains_live(key(1), 0));
        assert_consistent(&t);
    }

    #[test]
    fn growth_stops_at_the_bound_size() {
        let mut t = DoneTable::new(5000);
        for n in 0..5000 {
            t.insert(key(n), 100, 0);
        }
        assert_eq!(t.slot_count(), slots_for(5000));
        assert_consistent(&t);
    }
}
