//! The `queue` built-in handler against real local brokers (NATS JetStream,
//! RabbitMQ, Redis), through the real server. Broker outages are made with a
//! TCP proxy in front of the broker that the test cuts and restores.

pub(crate) mod amqp;
mod config;
pub(crate) mod nats;
mod proxy;
pub(crate) mod redis_stream;

use std::time::Duration;

use alexa_endpoint::config::{HandlerKind, QueueBackend, QueueConfig};
use alexa_endpoint::handlers::connect_skill_from_config;
use serde_json::{json, Value};

use crate::support::helpers::*;
use crate::support::wait::wait_for;

/// Handler deadline of the queue tests: a dead broker answers 503 within it.
const DEADLINE_MS: u64 = 2000;

/// How long a condition (broker back, connection noticed down) may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// Test config with the `queue` handler on `backend`.
fn queue_config(backend: QueueBackend, include_token: bool) -> alexa_endpoint::Config {
    let mut cfg = test_config();
    cfg.handler.kind = HandlerKind::Queue;
    cfg.handler.deadline = std::time::Duration::from_millis(DEADLINE_MS);
    cfg.handler.queue = Some(QueueConfig {
        include_token,
        max_in_flight: 64,
        backend,
    });
    cfg
}

/// Start the real server with the queue handler of `cfg`.
async fn spawn_queue_app(cfg: alexa_endpoint::Config) -> TestApp {
    init_logs();
    let skill = connect_skill_from_config(&cfg)
        .await
        .expect("queue handler connects");
    spawn_app(skill, cfg).await
}

/// The payload the broker must hold for `body` built by [`message_body`].
fn expected_payload(request_id: &str, message: &Value, include_token: bool) -> Value {
    let mut v = json!({
        "requestId": request_id,
        "timestamp": "2022-10-03T16:20:50.52Z",
        "userId": "user.id.1",
        "skillId": null,
        "apiEndpoint": "https://api.amazonalexa.com",
        "apiAccessToken": "someAccessToken.2",
        "message": message,
    });
    if !include_token {
        v.as_object_mut().unwrap().remove("apiAccessToken");
    }
    v
}

/// The value of `alexa_endpoint_queue_publish_total{backend,result}` (0 when absent).
async fn publish_count(app: &TestApp, backend: &str, result: &str) -> u64 {
    let text = app.admin_get("/metrics").await.text().await.unwrap();
    let series =
        format!("alexa_endpoint_queue_publish_total{{backend=\"{backend}\",result=\"{result}\"}}");
    metric_value(&text, &series).map_or(0, |v| v as u64)
}

/// Poll `/readyz` until it answers `status` (or panic after [`PATIENCE`]).
async fn wait_ready(app: &TestApp, status: u16) {
    let awaited = format!("/readyz answering {status}");
    wait_for(&awaited, PATIENCE, async || {
        match app.admin_get("/readyz").await.status().as_u16() {
            got if got == status => Ok(()),
            got => Err(format!("{got}")),
        }
    })
    .await;
}
