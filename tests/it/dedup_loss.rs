//! The Redis dedup store notices when Redis lost its data (restarted
//! without persistence, flushed): logged at error, counted in
//! `alexa_endpoint_dedup_store_resets_total`, marker written again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::dedup::{from_config, DedupStore};
use redis::AsyncCommands;
use serde_json::json;

use crate::support::helpers::*;
use crate::support::redis::{key_prefix, raw_connection, redis_config, RedisServer};
use crate::support::wait::{eventually, holds_for, wait_for};

const METRIC: &str = "alexa_endpoint_dedup_store_resets_total";

/// The value of `name` in the exposition text (`None` when absent).
async fn resets_metric(app: &TestApp) -> f64 {
    let text = app.admin_get("/metrics").await.text().await.unwrap();
    metric_value(&text, METRIC).unwrap_or_else(|| panic!("no {METRIC} in:\n{text}"))
}

async fn marker_exists(url: &str, prefix: &str) -> bool {
    let mut raw = raw_connection(url).await;
    raw.exists(format!("{prefix}marker")).await.unwrap()
}

/// Through the real server: Redis restarted without persistence makes a
/// handled message run again (the loss), and the endpoint says so — an
/// error log line and the counter at 1, not more on later looks.
#[tokio::test]
async fn dedup_redis_restart_without_persistence_is_detected_logged_counted() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let dedup = redis_config(&redis.url(), 500);
    let prefix = key_prefix(&dedup);
    let runs = Runs::default();
    let mut cfg = test_config();
    cfg.dedup = dedup;
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;

    let body = message_body(&unique("loss"), json!({}));
    assert_eq!(app.post(body.clone()).await.status(), 200);
    assert_eq!(app.post(body.clone()).await.status(), 200);
    assert_eq!(runs.get(), 1);
    // The first look wrote the marker.
    eventually("the marker written", Duration::from_secs(10), async || {
        if marker_exists(&redis.url(), &prefix).await {
            return true;
        }
        assert_eq!(app.admin_get("/readyz").await.status(), 200);
        false
    })
    .await;
    assert_eq!(resets_metric(&app).await, 0.0, "a first write is no loss");

    redis.restart().await;
    // What the loss means: the re-delivery runs the handler again.
    eventually(
        "the re-delivery answered 200",
        Duration::from_secs(10),
        async || {
            let status = app.post(body.clone()).await.status().as_u16();
            if status != 200 {
                assert_eq!(status, 503, "while reconnecting");
            }
            status == 200
        },
    )
    .await;
    assert_eq!(runs.get(), 2);

    wait_for("the loss counted", Duration::from_secs(10), async || {
        match resets_metric(&app).await {
            n if n >= 1.0 => Ok(()),
            n => {
                let _ = app.admin_get("/readyz").await; // a look
                Err(format!("{METRIC} {n}"))
            }
        }
    })
    .await;
    assert!(marker_exists(&redis.url(), &prefix).await, "marker back");
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains("LOST ITS DATA") && l.contains(&prefix))
        .unwrap_or_else(|| panic!("no error log line about the loss"));
    assert!(line.contains("\"level\":\"ERROR\""), "{line}");
    assert!(line.contains("may run their handler twice"), "{line}");

    // Later looks (at most one a second) find the marker: the counter stays at 1.
    holds_for(
        "ready, the loss counted once",
        Duration::from_millis(3300),
        async || {
            let status = app.admin_get("/readyz").await.status();
            if status != 200 {
                return Err(format!("/readyz answered {status}"));
            }
            match resets_metric(&app).await {
                1.0 => Ok(()),
                n => Err(format!("{METRIC} {n}")),
            }
        },
    )
    .await;
    app.stop().await;
}

/// Store API: a fresh server is no loss; `FLUSHALL` is one, noticed by the
/// first of two replicas that looks, so counted once across both.
#[tokio::test]
async fn dedup_redis_flush_is_counted_once_across_replicas() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let cfg = redis_config(&redis.url(), 500);
    let counted = Arc::new(AtomicU64::new(0));
    let stores: Vec<Arc<dyn DedupStore>> = (0..2).map(|_| from_config(&cfg).unwrap()).collect();
    for store in &stores {
        let counted = counted.clone();
        store.observe_resets(Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        // The first ping looks at once.
        store.ping().await.unwrap();
    }
    assert!(marker_exists(&redis.url(), &key_prefix(&cfg)).await);
    assert_eq!(counted.load(Ordering::SeqCst), 0);

    let mut raw = raw_connection(&redis.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut raw).await.unwrap();
    eventually("the flush noticed", Duration::from_secs(10), async || {
        if counted.load(Ordering::SeqCst) > 0 {
            return true;
        }
        for store in &stores {
            store.ping().await.unwrap();
        }
        false
    })
    .await;
    // Both replicas look at least once more (one look per second each).
    holds_for(
        "the flush counted once",
        Duration::from_millis(2500),
        async || {
            for store in &stores {
                store.ping().await.unwrap();
            }
            match counted.load(Ordering::SeqCst) {
                1 => Ok(()),
                n => Err(format!("counted {n} times")),
            }
        },
    )
    .await;
}
