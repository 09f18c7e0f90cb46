//! Dedup overhead per message: owner token + claim + finish, for the memory
//! store, the previous memory store (`baseline/`, same run) and Redis. The
//! Redis part needs `REDIS_URL` (default `redis://127.0.0.1:6379`) and is
//! skipped with a message when unreachable.
//!
//! `cargo bench --bench dedup` (add `-- --quick` for a short run). Besides
//! criterion's figures it prints:
//! - the latency of messages right after a mass expiry (a million done marks
//!   that all expired) next to the same on a store whose million entries are
//!   live, for both memory stores, as ratios;
//! - the Redis per-message latency distribution next to a bare PING, so the
//!   added round trips can be read off directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alexa_endpoint::config::{
    DedupConfig, DedupStoreConfig, MemoryDedupConfig, OnStoreError, RedisDedupConfig, RedisTarget,
    SecretUrl,
};
use alexa_endpoint::dedup::{
    from_config, new_owner_token, Claim, DedupStore, MemoryStore, StoreError,
};
use criterion::Criterion;
use tokio::runtime::Runtime;

#[path = "baseline/previous_memory_store.rs"]
mod previous_store;

const CLAIM_TTL: Duration = Duration::from_secs(10);
const DONE_TTL: Duration = Duration::from_secs(60);

fn config(store: DedupStoreConfig) -> DedupConfig {
    DedupConfig {
        store,
        ttl: DONE_TTL,
        store_timeout: Duration::from_millis(1000),
        on_store_error: OnStoreError::Reject,
    }
}

fn memory_config() -> DedupConfig {
    config(DedupStoreConfig::Memory(MemoryDedupConfig {
        max_entries: 1_000_000,
    }))
}

fn redis_config(url: &str) -> DedupConfig {
    config(DedupStoreConfig::Redis(RedisDedupConfig {
        target: RedisTarget::Single(SecretUrl::parse(url).expect("REDIS_URL is a URL")),
        tls_ca: None,
        key_prefix: format!("alexa-endpoint-bench:{}:", new_owner_token()),
    }))
}

/// One message as the dispatcher handles it: token, claim, finish.
async fn message(store: &dyn DedupStore, n: u64) {
    let id = format!("amzn1.echo-api.request.bench-{n}");
    let owner = new_owner_token();
    let claim = store.claim(&id, &owner, CLAIM_TTL).await;
    assert_eq!(claim.ok(), Some(Claim::New));
    assert!(store.finish(&id, &owner, DONE_TTL).await.is_ok());
}

fn bench_store(c: &mut Criterion, rt: &Runtime, name: &str, store: &Arc<dyn DedupStore>) {
    let mut next = 0u64;
    c.bench_function(&format!("dedup/{name}/claim+finish"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    next += 1;
                    message(&**store, next).await;
                }
                start.elapsed()
            })
        })
    });
}

/// p50/p99 of `n` sequential runs of `f`.
async fn percentiles<F, Fut>(n: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        f(i as u64).await;
        samples.push(start.elapsed());
    }
    samples.sort();
    (samples[n / 2], samples[n * 99 / 100])
}

fn redis_latency(rt: &Runtime, url: &str, store: &Arc<dyn DedupStore>) {
    rt.block_on(async {
        let client = redis::Client::open(url).expect("redis URL");
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let (ping50, ping99) = percentiles(5000, |_| {
            let mut conn = conn.clone();
            async move {
                let _: String = redis::cmd("PING")
                    .query_async(&mut conn)
                    .await
                    .expect("PING");
            }
        })
        .await;
        let (msg50, msg99) =
            percentiles(5000, |i| message(&**store, 1_000_000_000 + i)).await;
        println!(
            "redis latency over 5000 sequential messages: claim+finish p50 {msg50:?} p99 {msg99:?}; \
             bare PING p50 {ping50:?} p99 {ping99:?}"
        );
    });
}

/// Entries held when the mass-expiry latencies are measured.
const MASS: u64 = 1_000_000;
/// Messages timed after the fill.
const PROBES: usize = 20_000;
/// TTL of the done marks that expire together (longer than a fill takes, so
/// that they are all held when they expire).
const SHORT_TTL: Duration = Duration::from_secs(10);
/// When the probes start, counted from the start of the fill: every short
/// done mark has expired by then (the new store rounds expiries up to whole
/// seconds).
const PROBE_AT: Duration = Duration::from_millis(12_500);

struct Latencies {
    mean: Duration,
    p99: Duration,
    max: Duration,
}

/// Fill a store (bound 2 × [`MASS`]) with [`MASS`] done marks of `done_ttl`,
/// wait until [`PROBE_AT`] after the fill began, then time [`PROBES`] new
/// messages one by one.
async fn after_fill(store: &dyn DedupStore, done_ttl: Duration) -> Latencies {
    let began = Instant::now();
    for n in 0..MASS {
        let (id, owner) = (
            format!("amzn1.echo-api.request.fill-{n}"),
            new_owner_token(),
        );
        assert_eq!(
            store.claim(&id, &owner, CLAIM_TTL).await.ok(),
            Some(Claim::New)
        );
        assert!(store.finish(&id, &owner, done_ttl).await.is_ok());
    }
    if began.elapsed() >= SHORT_TTL {
        eprintln!(
            "warning: the fill took {:?}, over the short TTL",
            began.elapsed()
        );
    }
    tokio::time::sleep(PROBE_AT.saturating_sub(began.elapsed())).await;
    let mut samples = Vec::with_capacity(PROBES);
    for n in 0..PROBES {
        let start = Instant::now();
        message(store, 2_000_000_000 + n as u64).await;
        samples.push(start.elapsed());
    }
    let mean = samples.iter().sum::<Duration>() / PROBES as u32;
    samples.sort();
    Latencies {
        mean,
        p99: samples[PROBES * 99 / 100],
        max: samples[PROBES - 1],
    }
}

/// Messages right after a mass expiry against messages on a store holding as
/// many live entries, for one kind of store (a fresh store per phase).
fn mass_expiry<S: DedupStore>(rt: &Runtime, name: &str, make: impl Fn() -> S) {
    let normal = rt.block_on(async {
        let store = make();
        after_fill(&store, Duration::from_secs(3600)).await
    });
    let expired = rt.block_on(async {
        let store = make();
        after_fill(&store, SHORT_TTL).await
    });
    println!(
        "dedup/{name}: {PROBES} messages after {MASS} done marks expired: mean {:?} p99 {:?} max {:?}; \
         with {MASS} live entries: mean {:?} p99 {:?} max {:?}; ratio mean {:.2} p99 {:.2} max {:.2}",
        expired.mean,
        expired.p99,
        expired.max,
        normal.mean,
        normal.p99,
        normal.max,
        ratio(expired.mean, normal.mean),
        ratio(expired.p99, normal.p99),
        ratio(expired.max, normal.max),
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    c.bench_function("dedup/new_owner_token", |b| b.iter(new_owner_token));

    let memory = rt.block_on(async { from_config(&memory_config()).expect("memory") });
    bench_store(&mut c, &rt, "memory", &memory);
    let previous: Arc<dyn DedupStore> = Arc::new(previous_store::MemoryStore::new(1_000_000));
    bench_store(&mut c, &rt, "previous-memory", &previous);
    drop((memory, previous));

    if std::env::var_os("DEDUP_BENCH_SKIP_MASS_EXPIRY").is_none() {
        mass_expiry(&rt, "memory", || MemoryStore::new(2 * MASS));
        mass_expiry(&rt, "previous-memory", || {
            previous_store::MemoryStore::new(2 * MASS)
        });
    }

    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let redis = from_config(&redis_config(&url)).expect("redis store");
    match rt.block_on(redis.ping()) {
        Ok(()) => {
            bench_store(&mut c, &rt, "redis", &redis);
            redis_latency(&rt, &url, &redis);
        }
        Err(e) => eprintln!("dedup/redis skipped: Redis at {url} unreachable: {e}"),
    }

    c.final_summary();
}
