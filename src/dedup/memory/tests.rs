use super::*;
use crate::dedup::new_owner_token;

const LONG: Duration = Duration::from_secs(60);

fn claim(store: &MemoryStore, id: &str, owner: &str, ttl: Duration) -> Claim {
    futures_util::FutureExt::now_or_never(store.claim(id, owner, ttl))
        .expect("memory store never waits")
        .expect("memory store never fails")
}

fn finish(store: &MemoryStore, id: &str, owner: &str, ttl: Duration) {
    futures_util::FutureExt::now_or_never(store.finish(id, owner, ttl))
        .expect("memory store never waits")
        .expect("memory store never fails")
}

fn slots(store: &MemoryStore) -> usize {
    (0..store.inner.shard_count())
        .map(|i| store.inner.slot_count(i))
        .sum()
}

#[test]
fn shard_bounds_add_up_to_at_most_the_bound() {
    for max in [1, 2, 15, 16, 17, 100, 1_000_000, u64::MAX] {
        let store = MemoryStore::new(max);
        let shards = store.inner.shards.len() as u64;
        let capacity = max / shards;
        assert!(shards * capacity <= max);
        assert!(capacity >= 1);
        assert!(shards <= MAX_SHARDS);
    }
}

#[test]
fn a_store_allocates_nothing_for_entries_until_they_arrive() {
    let store = MemoryStore::new(u64::MAX);
    assert_eq!(slots(&store), 0);
    assert_eq!(claim(&store, "a", "o", LONG), Claim::New);
    finish(&store, "a", "o", LONG);
    assert!(slots(&store) <= 16);
}

#[tokio::test(start_paused = true)]
async fn full_shard_evicts_expired_first_then_the_soonest_to_expire() {
    let store = MemoryStore::new(1);
    store.claim("a", "o", Duration::from_secs(1)).await.unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    // "a" has expired: "b" takes its place.
    assert_eq!(store.claim("b", "o", LONG).await.unwrap(), Claim::New);
    assert_eq!(store.entry_count(), 1);
    // "b" is live but the only entry: evicted for "c".
    assert_eq!(store.claim("c", "o", LONG).await.unwrap(), Claim::New);
    assert_eq!(store.entry_count(), 1);
    assert_eq!(
        store.claim("c", "x", LONG).await.unwrap(),
        Claim::InProgress
    );
    assert_eq!(store.claim("b", "x", LONG).await.unwrap(), Claim::New);
}

#[test]
fn claim_release_churn_leaves_nothing_behind() {
    let store = MemoryStore::new(1000);
    claim(&store, "long-lived", "o", LONG);
    for i in 0..10_000 {
        let owner = format!("o{i}");
        assert_eq!(claim(&store, "churn", &owner, LONG), Claim::New);
        futures_util::FutureExt::now_or_never(store.release("churn", &owner))
            .expect("never waits")
            .expect("never fails");
    }
    assert_eq!(store.entry_count(), 1);
}

/// Done marks expire, the background task removes them and the tables'
/// memory goes back (paused clock: no waiting).
#[tokio::test(start_paused = true)]
async fn background_purge_removes_expired_entries_and_frees_their_tables() {
    let store = MemoryStore::new(100_000);
    for i in 0..50_000 {
        let (id, owner) = (format!("id-{i}"), new_owner_token());
        store.claim(&id, &owner, LONG).await.unwrap();
        store
            .finish(&id, &owner, Duration::from_secs(10))
            .await
            .unwrap();
    }
    assert_eq!(store.entry_count(), 50_000);
    let full = slots(&store);
    assert!(full >= 50_000 * 4 / 3, "{full} slots");

    tokio::time::advance(Duration::from_secs(10)).await;
    let mut ticks = 0;
    while store.entry_count() > 0 {
        ticks += 1;
        assert!(ticks <= 30, "{} entries left", store.entry_count());
        tokio::time::sleep(purge::TICK).await;
    }
    assert_eq!(slots(&store), 0, "tables freed");
}

/// A sweep with live entries among expired ones keeps the live ones and
/// shrinks to fit them.
#[tokio::test(start_paused = true)]
async fn purge_keeps_live_entries_and_shrinks_around_them() {
    let store = MemoryStore::new(100_000);
    for i in 0..40_000 {
        let (id, owner) = (format!("id-{i}"), new_owner_token());
        store.claim(&id, &owner, LONG).await.unwrap();
        let ttl = if i % 100 == 0 { 3600 } else { 10 };
        store
            .finish(&id, &owner, Duration::from_secs(ttl))
            .await
            .unwrap();
    }
    let full = slots(&store);
    tokio::time::advance(Duration::from_secs(10)).await;
    while store.entry_count() > 400 {
        tokio::time::sleep(purge::TICK).await;
    }
    // One more pass so that every shard has shrunk.
    tokio::time::sleep(purge::TICK * 10).await;
    assert_eq!(store.entry_count(), 400);
    assert!(slots(&store) * 10 < full, "{} of {full}", slots(&store));
    for i in (0..40_000).step_by(100) {
        let id = format!("id-{i}");
        assert_eq!(
            store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
            Claim::Done
        );
    }
}
