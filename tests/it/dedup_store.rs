//! The dedup stores, directly (no HTTP): memory and real Redis.
//!
//! Every Redis test uses its own key prefix. Fault tests run a private
//! `redis-server` that they kill, pause and restart.

use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::{DedupConfig, DedupStoreConfig};
use alexa_endpoint::dedup::{
    from_config, new_owner_token, Claim, DedupStore, MemoryStore, StoreError,
};
use redis::AsyncCommands;

use crate::support::redis::{
    free_port, key_prefix, raw_connection, redis_config, shared_redis, RedisServer, PORT_ATTEMPTS,
};
use crate::support::wait::wait_for;

pub(crate) const LONG: Duration = Duration::from_secs(60);
/// Claim and done TTL of the Redis expiry tests: long enough that the next
/// call finds the key still live even on a loaded machine (the key's PTTL,
/// read right after, proves it was), short enough to wait out.
const SHORT: Duration = Duration::from_secs(2);
/// How long a key given [`SHORT`] may take to be gone before the test fails
/// instead of hanging (a watchdog, not a timing assertion).
const EXPIRY_WATCHDOG: Duration = Duration::from_secs(15);
/// How long a call bounded by the store timeout may take before the test
/// fails instead of hanging (a watchdog, not a timing assertion).
const WATCHDOG: Duration = Duration::from_secs(30);

/// `fut`'s output; panics if it does not finish within [`WATCHDOG`].
async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WATCHDOG, fut)
        .await
        .expect("the store timeout bounds the call")
}

pub(crate) fn id() -> String {
    format!("amzn1.echo-api.request.{}", new_owner_token())
}

fn memory() -> Arc<dyn DedupStore> {
    Arc::new(MemoryStore::new(10_000))
}

async fn shared_redis_store() -> Option<Arc<dyn DedupStore>> {
    let url = shared_redis().await?;
    Some(from_config(&redis_config(&url, 1000)).expect("redis store"))
}

/// Claim `id` for fresh owners until the answer is `want` (the last of them
/// then holds the claim); panics if that does not happen within `watchdog`.
pub(crate) async fn claim_until(store: &dyn DedupStore, id: &str, want: Claim, watchdog: Duration) {
    let awaited = format!("a claim of {id} answering {want:?}");
    wait_for(&awaited, watchdog, async || {
        match store.claim(id, &new_owner_token(), LONG).await {
            Ok(got) if got == want => Ok(()),
            got => Err(format!("{got:?}")),
        }
    })
    .await;
}

/// The key's remaining time to live in milliseconds, read from Redis behind
/// the store's back (`-2`: no such key, `-1`: no expiry).
pub(crate) async fn pttl(raw: &mut impl redis::aio::ConnectionLike, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(raw).await.unwrap()
}

/// Asserts that `key`'s PTTL lies in `1..=ttl`: the key is still live and its
/// TTL is the one the store was given, not a longer one.
async fn assert_live_within(
    raw: &mut impl redis::aio::ConnectionLike,
    key: &str,
    ttl: Duration,
    what: &str,
) {
    let left = pttl(raw, key).await;
    assert!(
        (1..=ttl.as_millis() as i64).contains(&left),
        "{what}: PTTL {left} ms, want 1..={} ms",
        ttl.as_millis()
    );
}

// ---- behaviour shared by both backends -------------------------------------

pub(crate) async fn lifecycle(store: &dyn DedupStore) {
    lifecycle_of(store, &id()).await;
}

/// [`lifecycle`] on a given request id.
pub(crate) async fn lifecycle_of(store: &dyn DedupStore, id: &str) {
    let (id, a, b) = (id.to_owned(), new_owner_token(), new_owner_token());
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::New);
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::InProgress);
    // The holder's own retried claim is not a duplicate.
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::New);

    // Another owner can neither finish nor release a's claim.
    store.finish(&id, &b, LONG).await.unwrap();
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::InProgress);
    store.release(&id, &b).await.unwrap();
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::InProgress);

    store.finish(&id, &a, LONG).await.unwrap();
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::Done);
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::Done);
    // A done mark is not a claim: release leaves it alone.
    store.release(&id, &a).await.unwrap();
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::Done);
}

pub(crate) async fn release_after_failure(store: &dyn DedupStore) {
    let (id, a, b) = (id(), new_owner_token(), new_owner_token());
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::New);
    store.release(&id, &a).await.unwrap(); // the handler failed
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::New);
    store.finish(&id, &b, LONG).await.unwrap();
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::Done);
}

/// Redis: a claim never finished (crashed handler) carries the claim TTL
/// and expires with it; the late owner then cannot finish the new owner's
/// claim. `raw` reads the store's keys (`key_prefix` + request id). No
/// assertion depends on the clock: the key's PTTL shows the TTL applied.
pub(crate) async fn claim_expires(
    store: &dyn DedupStore,
    raw: &mut impl redis::aio::ConnectionLike,
    key_prefix: &str,
) {
    let (id, a, b) = (id(), new_owner_token(), new_owner_token());
    let key = format!("{key_prefix}{id}");
    assert_eq!(store.claim(&id, &a, SHORT).await.unwrap(), Claim::New);
    let early = store.claim(&id, &b, LONG).await.unwrap();
    // Read after b's claim: a PTTL within a's claim TTL shows a's claim was
    // still live when b asked (had b taken it, the key would carry LONG).
    assert_live_within(raw, &key, SHORT, "claim").await;
    assert_eq!(early, Claim::InProgress);
    claim_until(store, &id, Claim::New, EXPIRY_WATCHDOG).await;
    // a wakes up late: its finish must not overwrite the new owner's claim.
    store.finish(&id, &a, LONG).await.unwrap();
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::InProgress);
}

/// Redis: a done mark carries the `ttl` given to `finish` (not the claim's)
/// and is forgotten when it expires; see [`claim_expires`].
pub(crate) async fn done_mark_expires(
    store: &dyn DedupStore,
    raw: &mut impl redis::aio::ConnectionLike,
    key_prefix: &str,
) {
    let (id, a) = (id(), new_owner_token());
    let key = format!("{key_prefix}{id}");
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::New);
    store.finish(&id, &a, SHORT).await.unwrap();
    let early = store.claim(&id, &new_owner_token(), LONG).await.unwrap();
    // As in `claim_expires`: live when the claim above was made.
    assert_live_within(raw, &key, SHORT, "done mark").await;
    assert_eq!(early, Claim::Done);
    claim_until(store, &id, Claim::New, EXPIRY_WATCHDOG).await;
}

/// 20 simultaneous claims of one id (spread over `stores`): exactly one New.
pub(crate) async fn concurrent_claims(stores: &[Arc<dyn DedupStore>]) {
    let id = Arc::new(id());
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, id, barrier) = (
                stores[i % stores.len()].clone(),
                id.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                store.claim(&id, &new_owner_token(), LONG).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let new = outcomes.iter().filter(|c| **c == Claim::New).count();
    let in_progress = outcomes.iter().filter(|c| **c == Claim::InProgress).count();
    assert_eq!((new, in_progress), (1, 19), "{outcomes:?}");
}

// ---- memory ----------------------------------------------------------------

#[tokio::test]
async fn dedup_memory_lifecycle() {
    lifecycle(&*memory()).await;
}

#[tokio::test]
async fn dedup_memory_release_after_failure() {
    release_after_failure(&*memory()).await;
}

/// A claim never finished (crashed handler) expires after its TTL, not
/// before; the late owner then cannot finish the new owner's claim. Paused
/// clock: the store reads tokio's time.
#[tokio::test(start_paused = true)]
async fn dedup_memory_claim_expires() {
    let store = memory();
    let ttl = Duration::from_secs(12);
    let (id, a, b) = (id(), new_owner_token(), new_owner_token());
    assert_eq!(store.claim(&id, &a, ttl).await.unwrap(), Claim::New);
    tokio::time::advance(ttl - Duration::from_millis(1)).await;
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::InProgress);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(store.claim(&id, &b, LONG).await.unwrap(), Claim::New);
    // a wakes up late: its finish must not overwrite the new owner's claim.
    store.finish(&id, &a, LONG).await.unwrap();
    assert_eq!(
        store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
        Claim::InProgress
    );
}

#[tokio::test(start_paused = true)]
async fn dedup_memory_done_mark_expires() {
    let store = memory();
    let ttl = Duration::from_secs(3600);
    let (id, a) = (id(), new_owner_token());
    assert_eq!(store.claim(&id, &a, LONG).await.unwrap(), Claim::New);
    store.finish(&id, &a, ttl).await.unwrap();
    tokio::time::advance(ttl - Duration::from_millis(1)).await;
    assert_eq!(
        store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
        Claim::Done
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
        Claim::New
    );
}

/// Request ids are kept as digests: many ids that differ in one character,
/// or only in length, each keep their own state.
#[tokio::test]
async fn dedup_memory_distinct_ids_stay_distinct() {
    let store = MemoryStore::new(1_000_000);
    let base = "amzn1.echo-api.request.00000000-0000-0000-0000-00000000000";
    let done: Vec<String> = (0..50_000).map(|i| format!("{base}{i:x}")).collect();
    for id in &done {
        let owner = new_owner_token();
        assert_eq!(store.claim(id, &owner, LONG).await.unwrap(), Claim::New);
        store.finish(id, &owner, LONG).await.unwrap();
    }
    for id in &done {
        assert_eq!(
            store.claim(id, &new_owner_token(), LONG).await.unwrap(),
            Claim::Done,
            "{id}"
        );
    }
    // Never seen: new, although each is a prefix or an extension of a done id.
    for id in [
        base.to_owned(),
        format!("{base}0 "),
        format!("{base}ffff0"),
        String::new(),
    ] {
        assert_eq!(
            store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
            Claim::New,
            "{id:?}"
        );
    }
}

/// The background purge removes expired entries without anyone touching
/// them (paused clock: the purge task's ticks run as time is advanced).
#[tokio::test(start_paused = true)]
async fn dedup_memory_purge_removes_expired_entries() {
    let store = MemoryStore::new(100_000);
    for _ in 0..20_000 {
        let (id, owner) = (id(), new_owner_token());
        store.claim(&id, &owner, LONG).await.unwrap();
        store
            .finish(&id, &owner, Duration::from_secs(30))
            .await
            .unwrap();
    }
    let abandoned = id();
    store
        .claim(&abandoned, &new_owner_token(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(store.entry_count(), 20_001);
    tokio::time::advance(Duration::from_secs(30)).await;
    wait_for(
        "every expired entry purged",
        Duration::from_secs(60),
        async || match store.entry_count() {
            0 => Ok(()),
            left => Err(format!("{left} entries")),
        },
    )
    .await;
}

/// Purging around a claim still within its TTL never drops it: a
/// re-delivery while the handler runs is still 409, and once finished, done.
#[tokio::test(start_paused = true)]
async fn dedup_memory_purge_keeps_a_live_claim() {
    let store = MemoryStore::new(100_000);
    let (id, owner) = (id(), new_owner_token());
    let claim_ttl = Duration::from_secs(60);
    assert_eq!(
        store.claim(&id, &owner, claim_ttl).await.unwrap(),
        Claim::New
    );
    // Lots of short-lived done marks next to it, expiring and purged while
    // the claim is held.
    for _ in 0..20_000 {
        let (other, o) = (self::id(), new_owner_token());
        store.claim(&other, &o, LONG).await.unwrap();
        store
            .finish(&other, &o, Duration::from_secs(5))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(50)).await; // the purge task runs
    assert_eq!(store.entry_count(), 1, "only the claim is left");
    assert_eq!(
        store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
        Claim::InProgress
    );
    store.finish(&id, &owner, LONG).await.unwrap();
    tokio::time::sleep(Duration::from_secs(50)).await;
    assert_eq!(
        store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
        Claim::Done
    );
}

/// A full store evicts the done marks closest to expiry: the most recent ones
/// survive, the oldest are forgotten, the count never exceeds the bound.
#[tokio::test(start_paused = true)]
async fn dedup_memory_full_store_evicts_the_oldest_done_marks() {
    let store = MemoryStore::new(1000);
    let mut batches = Vec::new();
    for _ in 0..20 {
        let batch: Vec<String> = (0..160).map(|_| id()).collect();
        for id in &batch {
            let owner = new_owner_token();
            assert_eq!(store.claim(id, &owner, LONG).await.unwrap(), Claim::New);
            store.finish(id, &owner, LONG).await.unwrap();
            assert!(store.entry_count() <= 1000);
        }
        batches.push(batch);
        // The next batch expires a second later.
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    let done = |batch: &[String]| {
        let store = &store;
        let batch = batch.to_vec();
        async move {
            let mut n = 0;
            for id in &batch {
                if store.claim(id, &new_owner_token(), LONG).await.unwrap() == Claim::Done {
                    n += 1;
                }
            }
            n
        }
    };
    assert_eq!(done(&batches[19]).await, 160, "the newest batch is kept");
    assert_eq!(done(&batches[0]).await, 0, "the oldest batch is evicted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dedup_memory_concurrent_claims_one_new() {
    concurrent_claims(&[memory()]).await;
}

#[tokio::test]
async fn dedup_memory_stays_within_capacity() {
    let store = MemoryStore::new(100);
    for _ in 0..1000 {
        let (id, owner) = (id(), new_owner_token());
        assert_eq!(store.claim(&id, &owner, LONG).await.unwrap(), Claim::New);
        store.finish(&id, &owner, LONG).await.unwrap();
    }
    store.run_pending_tasks().await;
    assert!(
        store.entry_count() <= 100,
        "{} entries",
        store.entry_count()
    );
}

#[tokio::test]
async fn dedup_from_config_picks_the_backend() {
    let mut cfg: DedupConfig = alexa_endpoint::config::Config::default().dedup;
    assert_eq!(from_config(&cfg).unwrap().name(), "memory");
    cfg.store = redis_config("redis://127.0.0.1:6379", 1000).store;
    assert_eq!(from_config(&cfg).unwrap().name(), "redis");
    cfg.store = DedupStoreConfig::Off;
    let off = from_config(&cfg).unwrap();
    assert_eq!(off.name(), "off");
    let id = id();
    for _ in 0..2 {
        assert_eq!(
            off.claim(&id, &new_owner_token(), LONG).await.unwrap(),
            Claim::New
        );
        off.finish(&id, &new_owner_token(), LONG).await.unwrap();
    }
    off.ping().await.unwrap();
}

// ---- redis (shared instance) ----------------------------------------------

#[tokio::test]
async fn dedup_redis_lifecycle() {
    let Some(store) = shared_redis_store().await else {
        return;
    };
    store.ping().await.unwrap();
    lifecycle(&*store).await;
}

#[tokio::test]
async fn dedup_redis_release_after_failure() {
    let Some(store) = shared_redis_store().await else {
        return;
    };
    release_after_failure(&*store).await;
}

#[tokio::test]
async fn dedup_redis_claim_expires() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let cfg = redis_config(&url, 1000);
    let store = from_config(&cfg).unwrap();
    let mut raw = raw_connection(&url).await;
    claim_expires(&*store, &mut raw, &key_prefix(&cfg)).await;
}

#[tokio::test]
async fn dedup_redis_done_mark_expires() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let cfg = redis_config(&url, 1000);
    let store = from_config(&cfg).unwrap();
    let mut raw = raw_connection(&url).await;
    done_mark_expires(&*store, &mut raw, &key_prefix(&cfg)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dedup_redis_concurrent_claims_one_new() {
    let Some(store) = shared_redis_store().await else {
        return;
    };
    concurrent_claims(&[store]).await;
}

/// Two replicas (two store instances, two connections) on one Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dedup_redis_concurrent_claims_across_replicas_one_new() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let cfg = redis_config(&url, 1000);
    let stores = [from_config(&cfg).unwrap(), from_config(&cfg).unwrap()];
    concurrent_claims(&stores).await;
}

/// A replica claims and dies (never finishes): another replica gets the
/// message once the claim TTL has passed.
#[tokio::test]
async fn dedup_redis_crashed_claim_expires_for_other_replica() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let cfg = redis_config(&url, 1000);
    let mut raw = raw_connection(&url).await;
    let id = id();
    let key = format!("{}{id}", key_prefix(&cfg));
    let crashed = from_config(&cfg).unwrap();
    assert_eq!(
        crashed.claim(&id, &new_owner_token(), SHORT).await.unwrap(),
        Claim::New
    );
    drop(crashed);

    let survivor = from_config(&cfg).unwrap();
    let early = survivor.claim(&id, &new_owner_token(), LONG).await.unwrap();
    // As in `claim_expires`: the crashed replica's claim, with its claim
    // TTL, was live when the survivor asked.
    assert_live_within(&mut raw, &key, SHORT, "crashed replica's claim").await;
    assert_eq!(early, Claim::InProgress);
    claim_until(&*survivor, &id, Claim::New, EXPIRY_WATCHDOG).await;
}

/// The documented layout: `key_prefix + requestId`, owner while claimed with
/// the claim TTL, the done mark with `ttl` once finished.
#[tokio::test]
async fn dedup_redis_keys_live_under_prefix_with_their_ttls() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let cfg = redis_config(&url, 1000);
    let store = from_config(&cfg).unwrap();
    let mut raw = raw_connection(&url).await;
    let (id, owner) = (id(), new_owner_token());
    let key = format!("{}{id}", crate::support::redis::key_prefix(&cfg));

    store
        .claim(&id, &owner, Duration::from_secs(10))
        .await
        .unwrap();
    let value: Option<String> = raw.get(&key).await.unwrap();
    assert_eq!(value.as_deref(), Some(owner.as_str()));
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    assert!((1..=10_000).contains(&pttl), "claim PTTL {pttl}");

    store
        .finish(&id, &owner, Duration::from_secs(3600))
        .await
        .unwrap();
    let value: Option<String> = raw.get(&key).await.unwrap();
    assert_ne!(value.as_deref(), Some(owner.as_str()));
    assert!(value.is_some());
    let pttl: i64 = raw.pttl(&key).await.unwrap();
    assert!((3_590_000..=3_600_000).contains(&pttl), "done PTTL {pttl}");

    let _: () = raw.del(&key).await.unwrap();
}

// ---- redis (private server: counting, faults) -----------------------------

/// A new message is a `SET NX` + `GET` claim (pipelined) and one `EVALSHA`
/// finish (Redis counts the script's own `GET` and `SET` too); a duplicate
/// is the claim's `SET NX` + `GET` alone. No script loads, no pings.
#[tokio::test]
async fn dedup_redis_message_costs_two_round_trips() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let store = from_config(&redis_config(&server.url(), 1000)).unwrap();
    // Warm up: connect and load the scripts.
    let warm = new_owner_token();
    store.claim("warm-up", &warm, LONG).await.unwrap();
    store.finish("warm-up", &warm, LONG).await.unwrap();

    let mut raw = raw_connection(&server.url()).await;
    reset_command_stats(&mut raw).await;
    let (id, owner) = (id(), new_owner_token());
    assert_eq!(store.claim(&id, &owner, LONG).await.unwrap(), Claim::New);
    store.finish(&id, &owner, LONG).await.unwrap();
    let stats = command_stats(&mut raw).await;

    let calls = |cmd: &str| command_calls(&stats, cmd);
    assert_eq!(calls("evalsha"), 1, "{stats}");
    // The claim's SET NX and GET, plus the finish script's GET and SET.
    assert_eq!((calls("set"), calls("get")), (2, 2), "{stats}");
    assert_eq!(
        calls("eval") + calls("script") + calls("ping"),
        0,
        "{stats}"
    );

    reset_command_stats(&mut raw).await;
    let dup = store.claim(&id, &new_owner_token(), LONG).await.unwrap();
    assert_eq!(dup, Claim::Done);
    let stats = command_stats(&mut raw).await;
    let calls = |cmd: &str| command_calls(&stats, cmd);
    assert_eq!(
        (calls("set"), calls("get"), calls("evalsha")),
        (1, 1, 0),
        "{stats}"
    );
}

/// Zero Redis's per-command counters.
async fn reset_command_stats(raw: &mut redis::aio::MultiplexedConnection) {
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(raw)
        .await
        .unwrap();
}

/// `INFO commandstats`: the per-command counters.
async fn command_stats(raw: &mut redis::aio::MultiplexedConnection) -> String {
    redis::cmd("INFO")
        .arg("commandstats")
        .query_async(raw)
        .await
        .unwrap()
}

/// How often `cmd` ran, from `INFO commandstats`.
fn command_calls(stats: &str, cmd: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Start-up never waits for Redis; once Redis appears, the same store works.
#[tokio::test]
async fn dedup_redis_from_config_while_down_then_recovers() {
    let mut last = String::new();
    // The port is free when picked but may be taken before redis-server binds it.
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        let timeout = Duration::from_millis(300);
        let store = from_config(&redis_config(
            &format!("redis://127.0.0.1:{port}"),
            timeout.as_millis() as u64,
        ))
        .expect("from_config must not need Redis");

        let err = bounded(store.ping())
            .await
            .expect_err("nothing listens yet");
        assert!(!err.reason().is_empty());
        bounded(store.claim(&id(), &new_owner_token(), LONG))
            .await
            .expect_err("still down");

        let _server = match RedisServer::try_start_on(port).await {
            None => return,
            Some(Ok(server)) => server,
            Some(Err(e)) => {
                last = e;
                continue;
            }
        };
        claim_until(&*store, &id(), Claim::New, Duration::from_secs(10)).await;
        store.ping().await.unwrap();
        return;
    }
    panic!("redis-server did not start in {PORT_ATTEMPTS} attempts: {last}");
}

/// Redis killed: calls fail promptly. Restarted on the same port: the same
/// store instance recovers without being rebuilt.
#[tokio::test]
async fn dedup_redis_killed_then_restarted_same_store_recovers() {
    let Some(mut server) = RedisServer::start().await else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let store = from_config(&redis_config(&server.url(), timeout.as_millis() as u64)).unwrap();
    lifecycle(&*store).await;

    server.kill().await;
    for _ in 0..3 {
        let got = bounded(store.claim(&id(), &new_owner_token(), LONG)).await;
        assert!(got.is_err(), "claim while Redis is dead: {got:?}");
    }
    store.ping().await.expect_err("ping while Redis is dead");

    server.restart().await;
    claim_until(&*store, &id(), Claim::New, Duration::from_secs(10)).await;
    lifecycle(&*store).await;
    store.ping().await.unwrap();
}

/// A hung Redis (accepts, never answers) is bounded by the store timeout.
#[tokio::test]
async fn dedup_redis_hung_server_times_out_then_recovers() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let store = from_config(&redis_config(&server.url(), timeout.as_millis() as u64)).unwrap();
    store.ping().await.unwrap();

    server.pause();
    // A paused server never answers: only the store timeout ends the call.
    let got = bounded(store.claim(&id(), &new_owner_token(), LONG)).await;
    server.resume();
    assert!(matches!(got, Err(StoreError::Timeout)), "{got:?}");

    claim_until(&*store, &id(), Claim::New, Duration::from_secs(10)).await;
}
