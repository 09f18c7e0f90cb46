//! Soak: 2 endpoint processes + Redis, many distinct messages with 10%
//! re-deliveries to random replicas, every non-200 retried like Alexa does
//! (the sender in `support::alexa`), and Redis restarted once in the middle.
//! Afterwards: handler runs == distinct messages, every delivery
//! acknowledged, none lost.
//!
//! Short form (500 messages) runs with the other tests; the full form:
//! `SOAK_MESSAGES=5000 cargo test --test it soak -- --nocapture`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use serde_json::json;

use crate::support::alexa::{soak_messages, Sender};
use crate::support::config::{redis_dedup, webhook_handler};
use crate::support::helpers::*;
use crate::support::redis::RedisServer;
use crate::support::serve::ServeProcess;

type Tally = Arc<Mutex<HashMap<String, usize>>>;

/// A webhook backend that counts deliveries per requestId.
async fn counting_backend() -> (std::net::SocketAddr, Tally) {
    let tally: Tally = Default::default();
    async fn hook(State(t): State<Tally>, body: axum::Json<serde_json::Value>) -> &'static str {
        let id = body["requestId"].as_str().unwrap_or_default().to_owned();
        *t.lock().unwrap().entry(id).or_default() += 1;
        "ok"
    }
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(tally.clone());
    (serve_router(app).await, tally)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_two_replicas_with_a_redis_restart() {
    let messages = soak_messages(500);
    // Persistent, as production dedup storage must be: without it a restart
    // forgets handled ids.
    let Some(mut redis) = RedisServer::start_persistent().await else {
        return;
    };
    let (hook, tally) = counting_backend().await;
    let mut config = test_config();
    redis_dedup(
        &mut config,
        &redis.url(),
        &unique("soak"),
        Duration::from_millis(300),
    );
    webhook_handler(&mut config, &format!("http://{hook}/hook"));
    config.handler.deadline = Duration::from_millis(2000);
    let a = ServeProcess::builder(&config).quiet().start().await;
    let b = ServeProcess::builder(&config).quiet().start().await;
    let (addr_a, addr_b) = (a.addr, b.addr);

    let run_id = unique("soakmsg");
    let sender = Sender {
        messages,
        redelivery_every: 10,
        workers: 16,
        urls: vec![format!("http://{addr_a}/"), format!("http://{addr_b}/")],
        prepare: Arc::new({
            let run_id = run_id.clone();
            move |i| {
                (
                    message_body(&format!("{run_id}-{i}"), json!({"n": i})),
                    Vec::new(),
                )
            }
        }),
    };
    let total = messages + messages / 10;
    let running = sender.spawn();
    // Restart Redis once, in the middle of the run.
    running
        .wait_until("half the deliveries acknowledged", |p| {
            p.acked() >= total / 2
        })
        .await;
    running.progress.fault_begins();
    redis.restart().await;
    running.progress.fault_ends();
    let report = running.finish().await;

    let tally = tally.lock().unwrap().clone();
    let runs: usize = tally.values().sum();
    let distinct = tally.len();
    let lost = (0..messages)
        .filter(|i| !tally.contains_key(&format!("{run_id}-{i}")))
        .count();
    println!("soak: {report} handler_runs={runs} distinct_handled={distinct} lost={lost}");
    let twice: Vec<_> = tally.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    assert_eq!(runs, messages);
    assert_eq!(lost, 0);
}
