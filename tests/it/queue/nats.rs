//! `backend = "nats"` against the machine's NATS JetStream (127.0.0.1:4222).

use std::net::SocketAddr;

use alexa_endpoint::config::{NatsQueueConfig, QueueBackend};
use alexa_endpoint::handlers::connect_skill_from_config;
use async_nats::jetstream::{self, stream};
use serde_json::{json, Value};

use super::proxy::TcpProxy;
use super::*;
use crate::support::redis::secret_url;

pub(crate) const NATS: &str = "127.0.0.1:4222";
/// A password the logs must never show (the server has no auth and ignores it).
const PASSWORD: &str = "nats-Pw-4f1c9";

fn nats_url(addr: &str) -> String {
    format!("nats://alexa:{PASSWORD}@{addr}")
}

/// A client of the machine's JetStream.
pub(crate) async fn jetstream() -> jetstream::Context {
    let client = async_nats::connect(NATS)
        .await
        .expect("NATS at 127.0.0.1:4222");
    jetstream::new(client)
}

/// A fresh stream on a fresh subject; returns (stream name, subject).
pub(crate) async fn fresh_stream(js: &jetstream::Context) -> (String, String) {
    let name = unique("queue_test").replace('-', "_");
    let subject = format!("alexa.{name}");
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![subject.clone()],
        ..Default::default()
    })
    .await
    .expect("create stream");
    (name, subject)
}

/// The NATS backend publishing to `subject` at `url`.
pub(crate) fn backend(url: String, subject: &str) -> QueueBackend {
    QueueBackend::Nats(NatsQueueConfig {
        url: secret_url(&url),
        subject: subject.to_owned(),
    })
}

/// Every message in the stream: (Nats-Msg-Id, payload as JSON).
async fn messages(js: &jetstream::Context, name: &str) -> Vec<(String, Value)> {
    let mut stream = js.get_stream(name).await.expect("stream exists");
    let state = stream.info().await.expect("stream info").state.clone();
    let mut out = Vec::new();
    if state.messages == 0 {
        return out;
    }
    for seq in state.first_sequence..=state.last_sequence {
        let msg = stream.get_raw_message(seq).await.expect("message");
        let id = msg
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.to_string())
            .unwrap_or_default();
        out.push((id, serde_json::from_slice(&msg.payload).unwrap()));
    }
    out
}

#[tokio::test]
async fn publishes_once_with_its_id_and_acknowledges_only_after_the_pub_ack() {
    let js = jetstream().await;
    let (name, subject) = fresh_stream(&js).await;
    let app = spawn_queue_app(queue_config(backend(nats_url(NATS), &subject), true)).await;
    let id = unique("amzn1.echo-api.request.nats");
    let message = json!({"sometag": "message blob", "n": [1, 2.50, "x"]});

    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    // The 200 came after the PubAck: the message is in the stream now.
    assert_eq!(
        messages(&js, &name).await,
        vec![(id.clone(), expected_payload(&id, &message, true))]
    );

    // Alexa re-delivers an acknowledged message: acknowledged, not published again.
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(messages(&js, &name).await.len(), 1);
    assert_eq!(publish_count(&app, "nats", "confirmed").await, 1);
    assert_eq!(publish_count(&app, "nats", "failed").await, 0);

    let ready: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["handler"], "nats");
    app.stop().await;
    js.delete_stream(&name).await.unwrap();
    let logs = captured_logs();
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(PASSWORD)).collect();
    assert!(
        leaks.is_empty(),
        "a NATS password reached the log: {leaks:?}"
    );
}

#[tokio::test]
async fn no_stream_on_the_subject_stops_start_up_with_a_clear_error() {
    let mut cfg = queue_config(backend(nats_url(NATS), "alexa.nobody-listens-here"), true);
    cfg.handler.queue.as_mut().unwrap().max_in_flight = 1;
    let err = connect_skill_from_config(&cfg)
        .await
        .err()
        .expect("start-up fails");
    let text = err.to_string();
    assert_eq!(err.key, "handler.queue.subject");
    assert!(
        text.contains("no JetStream stream listens on subject"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
}

#[tokio::test]
async fn a_stream_deleted_after_start_up_answers_503_and_nothing_is_acknowledged() {
    let js = jetstream().await;
    let (name, subject) = fresh_stream(&js).await;
    let app = spawn_queue_app(queue_config(backend(nats_url(NATS), &subject), true)).await;
    js.delete_stream(&name).await.unwrap();

    let id = unique("amzn1.echo-api.request.nats-gone");
    let res = app.post(message_body(&id, json!({"a": 1}))).await;
    assert_eq!(res.status(), 503);
    assert_eq!(publish_count(&app, "nats", "failed").await, 1);
    assert_eq!(publish_count(&app, "nats", "confirmed").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn broker_down_answers_503_then_the_same_delivery_is_published_once_when_it_is_back() {
    let js = jetstream().await;
    let (name, subject) = fresh_stream(&js).await;
    let upstream: SocketAddr = NATS.parse().unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let url = nats_url(&format!("127.0.0.1:{}", proxy.port));
    let app = spawn_queue_app(queue_config(backend(url, &subject), true)).await;
    wait_ready(&app, 200).await;

    proxy.cut();
    wait_ready(&app, 503).await;
    let id = unique("amzn1.echo-api.request.nats-down");
    let message = json!({"during": "outage"});
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 503);
    assert_eq!(publish_count(&app, "nats", "failed").await, 1);
    assert!(
        messages(&js, &name).await.is_empty(),
        "nothing may be in the stream"
    );

    proxy.restore();
    wait_ready(&app, 200).await;
    // Alexa re-delivers the same message.
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        messages(&js, &name).await,
        vec![(id.clone(), expected_payload(&id, &message, true))]
    );
    assert_eq!(publish_count(&app, "nats", "confirmed").await, 1);
    app.stop().await;
    js.delete_stream(&name).await.unwrap();
}
