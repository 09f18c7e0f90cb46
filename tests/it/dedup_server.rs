//! Exactly once across retries and replicas, through the real server, for
//! the memory and Redis backends.

use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::{Config, DedupConfig, OnStoreError};
use alexa_endpoint::{HandlerError, Response, Skill};
use serde_json::json;
use tokio::sync::Semaphore;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::config::webhook_handler;
use crate::support::helpers::*;
use crate::support::redis::{redis_config, shared_redis, RedisServer};
use crate::support::serve::ServeProcess;
use crate::support::wait::wait_for;

fn config_with(dedup: Option<DedupConfig>) -> Config {
    let mut cfg = test_config();
    if let Some(d) = dedup {
        cfg.dedup = d;
    }
    cfg
}

async fn sequential_duplicate_runs_once(dedup: Option<DedupConfig>) {
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), config_with(dedup)).await;
    let body = message_body(&unique("seq"), json!({}));
    let first = app.post(body.clone()).await;
    let second = app.post(body).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(
        second.text().await.unwrap(),
        r#"{"version":"1.0","response":{}}"#
    );
    assert_eq!(runs.get(), 1);
    app.stop().await;
}

/// Post `body` `n` times at once, spread over `apps`; return the statuses.
async fn parallel_posts(apps: &[&TestApp], body: &[u8], n: usize) -> Vec<u16> {
    let start = Arc::new(Semaphore::new(0));
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = apps[i % apps.len()];
        let (client, url, body, start) = (
            app.client.clone(),
            app.url("/"),
            body.to_vec(),
            start.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _go = start.acquire().await.unwrap();
            client
                .post(url)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    start.add_permits(n);
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

/// Re-deliver `body` to `app`, as Alexa does, until it answers 200 (expected
/// once `after` happened); panics with the last status after 30 s.
async fn redelivered_until_200(app: &TestApp, body: &[u8], after: &str) {
    let awaited = format!("a re-delivery answered 200 ({after})");
    wait_for(&awaited, Duration::from_secs(30), async || {
        match app.post(body.to_vec()).await.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("status {status}")),
        }
    })
    .await;
}

fn assert_one_winner(statuses: &[u16]) {
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
}

async fn parallel_duplicates_run_once(dedup: Option<DedupConfig>) {
    let runs = Runs::default();
    let app = spawn_app(
        counting_skill(&runs, Duration::from_millis(300)),
        config_with(dedup),
    )
    .await;
    let body = message_body(&unique("par"), json!({}));
    let statuses = parallel_posts(&[&app], &body, 20).await;
    assert_eq!(runs.get(), 1, "{statuses:?}");
    assert_one_winner(&statuses);
    app.stop().await;
}

#[tokio::test]
async fn memory_sequential_duplicate_runs_once() {
    sequential_duplicate_runs_once(None).await;
}

#[tokio::test]
async fn memory_parallel_duplicates_run_once() {
    parallel_duplicates_run_once(None).await;
}

#[tokio::test]
async fn redis_sequential_duplicate_runs_once() {
    let Some(url) = shared_redis().await else {
        return;
    };
    sequential_duplicate_runs_once(Some(redis_config(&url, 500))).await;
}

#[tokio::test]
async fn redis_parallel_duplicates_run_once() {
    let Some(url) = shared_redis().await else {
        return;
    };
    parallel_duplicates_run_once(Some(redis_config(&url, 500))).await;
}

#[tokio::test]
async fn two_replicas_sharing_redis_run_once() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let dedup = redis_config(&url, 500);
    let runs = Runs::default();
    let a = spawn_app(
        counting_skill(&runs, Duration::from_millis(300)),
        config_with(Some(dedup.clone())),
    )
    .await;
    let b = spawn_app(
        counting_skill(&runs, Duration::from_millis(300)),
        config_with(Some(dedup)),
    )
    .await;
    let body = message_body(&unique("replicas"), json!({}));
    let statuses = parallel_posts(&[&a, &b], &body, 20).await;
    assert_eq!(runs.get(), 1, "{statuses:?}");
    assert_one_winner(&statuses);
    // Later re-deliveries to either replica: acknowledged, not run.
    assert_eq!(a.post(body.clone()).await.status(), 200);
    assert_eq!(b.post(body).await.status(), 200);
    assert_eq!(runs.get(), 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn redis_handler_fails_once_then_succeeds() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let runs = Runs::default();
    let r = runs.clone();
    let skill = Skill::builder()
        .on_message(move |_ctx, _msg| {
            let n = r.inc();
            async move {
                if n == 1 {
                    return Err(HandlerError::new(std::io::Error::other("first try fails")));
                }
                Ok(Response::ack())
            }
        })
        .build();
    let app = spawn_app(skill, config_with(Some(redis_config(&url, 500)))).await;
    let body = message_body(&unique("failonce"), json!({}));
    assert_eq!(app.post(body.clone()).await.status(), 500);
    assert_eq!(app.post(body.clone()).await.status(), 200);
    assert_eq!(app.post(body).await.status(), 200);
    assert_eq!(runs.get(), 2);
    app.stop().await;
}

#[tokio::test]
async fn redis_down_reject_answers_503_then_handles_once_after_restart() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let runs = Runs::default();
    let mut cfg = config_with(Some(redis_config(&redis.url(), 300)));
    cfg.dedup.on_store_error = OnStoreError::Reject;
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;
    assert_eq!(
        app.post(message_body(&unique("warm"), json!({})))
            .await
            .status(),
        200
    );
    assert_eq!(runs.get(), 1);

    redis.kill().await;
    let body = message_body(&unique("outage"), json!({}));
    let res = app.post(body.clone()).await;
    assert_eq!(res.status(), 503);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "dedup_store_unavailable");
    assert_eq!(
        runs.get(),
        1,
        "the handler must not run while the store is down"
    );
    assert!(store_errors(&app).await >= 1);
    assert_eq!(app.admin_get("/readyz").await.status(), 503);

    redis.restart().await;
    // Alexa keeps re-delivering; the same endpoint recovers without a restart.
    redelivered_until_200(&app, &body, "Redis back").await;
    assert_eq!(runs.get(), 2);
    assert_eq!(app.post(body).await.status(), 200);
    assert_eq!(runs.get(), 2, "handled exactly once");
    assert_eq!(app.admin_get("/readyz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn redis_down_process_handles_anyway() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let runs = Runs::default();
    let mut cfg = config_with(Some(redis_config(&redis.url(), 300)));
    cfg.dedup.on_store_error = OnStoreError::Process;
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;
    redis.kill().await;
    assert_eq!(
        app.post(message_body(&unique("process"), json!({})))
            .await
            .status(),
        200
    );
    assert_eq!(runs.get(), 1);
    // Handled anyway, but the store failure is counted: the "dedup store
    // down" alert sees it under either policy.
    assert!(store_errors(&app).await >= 1);
    app.stop().await;
}

/// `alexa_endpoint_dedup_store_errors_total` from the admin listener.
async fn store_errors(app: &TestApp) -> u64 {
    let text = app.admin_get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("alexa_endpoint_dedup_store_errors_total "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no dedup_store_errors_total in {text}"))
}

/// A replica process: the binary deduplicating with `dedup` (give in-process
/// replicas the same to share its store and prefix) and a webhook handler
/// whose backend answers after `delay`.
async fn webhook_replica_process(
    dedup: &DedupConfig,
    delay: Duration,
    deadline_ms: u64,
) -> (
    MockServer,
    tokio::process::Child,
    std::net::SocketAddr,
    tempfile::TempDir,
) {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(delay))
        .mount(&backend)
        .await;
    let mut config = config_with(Some(dedup.clone()));
    config.handler.deadline = Duration::from_millis(deadline_ms);
    webhook_handler(&mut config, &format!("{}/hook", backend.uri()));
    let served = ServeProcess::builder(&config).start().await;
    let (child, addr, dir) = (served.child, served.addr, served.dir);
    (backend, child, addr, dir)
}

#[tokio::test]
async fn crashed_replica_claim_expires_and_the_redelivery_runs() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let dedup = redis_config(&url, 500);
    let (backend, mut doomed, addr, _dir) =
        webhook_replica_process(&dedup, Duration::from_secs(120), 1000).await;
    let body = message_body(&unique("crash"), json!({}));
    let in_flight = {
        let body = body.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/"))
                .body(body)
                .send()
                .await
        })
    };
    wait_for_requests(
        "the doomed replica reaching its handler",
        &backend,
        1,
        Duration::from_secs(10),
    )
    .await;
    doomed.kill().await.unwrap(); // SIGKILL: no chance to release the claim
    assert!(in_flight.await.unwrap().is_err());

    let runs = Runs::default();
    let mut cfg = config_with(Some(dedup));
    cfg.handler.deadline = std::time::Duration::from_millis(1000);
    let survivor = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;
    assert_eq!(
        survivor.post(body.clone()).await.status(),
        409,
        "the dead replica's claim is still held"
    );
    assert_eq!(runs.get(), 0);
    // Alexa re-delivers; once the claim TTL (deadline + margin) passes, it runs.
    redelivered_until_200(&survivor, &body, "the dead replica's claim expired").await;
    assert_eq!(runs.get(), 1);
    survivor.stop().await;
}

#[tokio::test]
async fn sigterm_mid_handler_finishes_the_claim_before_exit() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let dedup = redis_config(&url, 500);
    let (backend, mut child, addr, _dir) =
        webhook_replica_process(&dedup, Duration::from_millis(800), 7000).await;
    let body = message_body(&unique("drain"), json!({}));
    let in_flight = {
        let body = body.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/"))
                .body(body)
                .send()
                .await
        })
    };
    wait_for_requests(
        "the handler calling the webhook",
        &backend,
        1,
        Duration::from_secs(10),
    )
    .await;
    send_signal(&child, "-TERM");
    assert_eq!(in_flight.await.unwrap().unwrap().status(), 200);
    assert!(child.wait().await.unwrap().success());

    // The message is marked handled: a re-delivery to another replica is
    // acknowledged without running anything.
    let runs = Runs::default();
    let other = spawn_app(
        counting_skill(&runs, Duration::ZERO),
        config_with(Some(dedup)),
    )
    .await;
    assert_eq!(other.post(body).await.status(), 200);
    assert_eq!(runs.get(), 0);
    other.stop().await;
}
