//! Soak: 2 endpoint processes + Redis, many distinct messages with 10%
//! re-deliveries to random replicas, every non-200 retried like Alexa does,
//! and Redis restarted once in the middle. Afterwards: handler runs ==
//! distinct messages, every message acknowledged, none lost.
//!
//! Short form (500 messages) runs with the other tests; the full form:
//! `SOAK_MESSAGES=5000 cargo test --test it soak -- --nocapture`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use serde_json::json;
use tokio::process::Child;

use crate::helpers::*;
use crate::support::redis::{free_port, skip_or_fail};

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, tally)
}

/// A redis-server that persists (AOF) across the restart, as production dedup
/// storage must: without persistence a restart forgets handled ids.
struct PersistentRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PersistentRedis {
    async fn start() -> Option<Self> {
        if std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            skip_or_fail("redis-server is not installed");
            return None;
        }
        let mut r = Self {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        r.spawn().await;
        Some(r)
    }

    async fn spawn(&mut self) {
        let child = tokio::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !crate::support::redis::answers_ping(self.port).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
        self.spawn().await;
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_two_replicas_with_a_redis_restart() {
    let messages: usize = std::env::var("SOAK_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let Some(mut redis) = PersistentRedis::start().await else {
        return;
    };
    let (hook, tally) = counting_backend().await;
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_url = "{}"
key_prefix = "{}"
store_timeout_ms = 300
on_store_error = "reject"
[handler]
kind = "webhook"
deadline_ms = 2000
[handler.webhook]
url = "http://{hook}/hook"
[log]
format = "json"
"#,
        redis.url(),
        unique("soak"),
    );
    let (_a, addr_a, _da) = start_serve_quiet(&config).await;
    let (_b, addr_b, _db) = start_serve_quiet(&config).await;
    let urls = Arc::new([format!("http://{addr_a}/"), format!("http://{addr_b}/")]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let acked = Arc::new(AtomicUsize::new(0));
    let non_200 = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let run_id = unique("soakmsg");
    let mut workers = Vec::new();
    for w in 0..16usize {
        let (client, urls, acked, non_200, next, run_id) = (
            client.clone(),
            urls.clone(),
            acked.clone(),
            non_200.clone(),
            next.clone(),
            run_id.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut rng = w as u64 * 0x9E37_79B9 + 1;
            let mut pick = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= messages {
                    break;
                }
                let body = message_body(&format!("{run_id}-{i}"), json!({"n": i}));
                // 10% of messages are delivered twice (Alexa's duplicates).
                let deliveries = if pick() % 10 == 0 { 2 } else { 1 };
                for _ in 0..deliveries {
                    // Alexa retries until it gets a 200.
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        assert!(attempts < 2000, "message {i} never acknowledged");
                        let url = &urls[(pick() % 2) as usize];
                        match client.post(url).body(body.clone()).send().await {
                            Ok(r) if r.status() == 200 => break,
                            _ => {
                                non_200.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                }
                acked.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Restart Redis once, in the middle of the run.
    while acked.load(Ordering::SeqCst) < messages / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    redis.restart().await;
    for w in workers {
        w.await.unwrap();
    }

    let tally = tally.lock().unwrap().clone();
    let runs: usize = tally.values().sum();
    let distinct = tally.len();
    let acknowledged = acked.load(Ordering::SeqCst);
    let lost = (0..messages)
        .filter(|i| !tally.contains_key(&format!("{run_id}-{i}")))
        .count();
    println!(
        "soak: messages={messages} handler_runs={runs} distinct_handled={distinct} acknowledged={acknowledged} lost={lost} non_200_answers={}",
        non_200.load(Ordering::Relaxed)
    );
    let twice: Vec<_> = tally.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    assert_eq!(runs, messages);
    assert_eq!(acknowledged, messages);
    assert_eq!(lost, 0);
}
