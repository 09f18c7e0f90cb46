//! Soak of the durable hand-off: 2 endpoint processes with the `queue`
//! handler publishing to a private NATS JetStream (file storage), Redis
//! dedup, signed requests with full verification, 10 % re-deliveries to
//! random replicas, every non-200 retried like Alexa does, and nats-server
//! killed (SIGKILL) and restarted on the same port and store in the middle.
//! Afterwards the stream holds every message exactly once, none missing.
//!
//! Short form (500 messages) runs with the other tests; the full form:
//! `SOAK_MESSAGES=5000 cargo test --test it soak_queue -- --nocapture`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_nats::jetstream::stream;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::support::alexa::{soak_messages, Sender};
use crate::support::nats::NatsServer;
use crate::support::redis::{shared_redis, unique_prefix};
use crate::verify_support::PKI;

/// Handler deadline: a publish waits at most 0.9 × this for its PubAck.
const DEADLINE_MS: u64 = 2000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_two_replicas_queue_to_jetstream_with_a_broker_restart() {
    let messages = soak_messages(500);
    let Some(redis_url) = shared_redis().await else {
        return;
    };
    let Some(mut nats) = NatsServer::start().await else {
        return;
    };
    let stream_name = unique("soak_queue").replace('-', "_");
    let subject = format!("alexa.{stream_name}");
    let stream_config = nats
        .jetstream()
        .await
        .create_stream(stream::Config {
            name: stream_name.clone(),
            subjects: vec![subject.clone()],
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("create the stream")
        .cached_info()
        .config
        .clone();

    let pki_files = tempfile::tempdir().unwrap();
    let pki_dir = PKI.write_to(pki_files.path()).unwrap();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
[dedup]
backend = "redis"
redis_url = "{redis_url}"
key_prefix = "{prefix}"
store_timeout_ms = 300
on_store_error = "reject"
[handler]
kind = "queue"
deadline_ms = {DEADLINE_MS}
[handler.queue]
backend = "nats"
url = "{nats_url}"
subject = "{subject}"
[log]
format = "json"
{verification}"#,
        prefix = unique_prefix(),
        nats_url = nats.url(),
        verification = PKI.config_snippet(&pki_dir),
    );
    let a = start_serve_with_admin(&config).await;
    let b = start_serve_with_admin(&config).await;

    let run_id = unique("amzn1.echo-api.request.soakq");
    let sender = Sender {
        messages,
        redelivery_every: 10,
        workers: 16,
        urls: vec![format!("http://{}/", a.addr), format!("http://{}/", b.addr)],
        prepare: Arc::new({
            let run_id = run_id.clone();
            move |i| {
                // Signed like Alexa: fresh timestamp, Signature-256 over the bytes sent.
                let body = message_body(&format!("{run_id}-{i}"), json!({"n": i}));
                let body = alexa_endpoint::dev::refresh_timestamp(
                    &body,
                    time::OffsetDateTime::now_utc(),
                    None,
                )
                .unwrap();
                let signed = alexa_endpoint::dev::sign_body(&PKI, &body).unwrap();
                (
                    body,
                    vec![
                        ("SignatureCertChainUrl", signed.cert_url),
                        ("Signature-256", signed.signature_256),
                    ],
                )
            }
        }),
    };
    let total = messages + messages / 10;
    let running = sender.spawn();

    // Crash the broker in the middle of the run and keep it down until the
    // endpoints have answered 503 for it; then start it on the same port and
    // store (the stream and its messages survive; the clients reconnect).
    running
        .wait_until("half the deliveries acknowledged", |p| {
            p.acked() >= total / 2
        })
        .await;
    running.progress.fault_begins();
    nats.kill().await;
    running
        .wait_until("503 while the broker is down", |p| p.fault_503() > 0)
        .await;
    nats.restart().await;
    running.progress.fault_ends();
    let report = running.finish().await;

    // Read the whole stream back.
    let mut stream = nats
        .jetstream()
        .await
        .get_stream(&stream_name)
        .await
        .expect("the stream survived the restart");
    let state = stream.info().await.expect("stream info").state.clone();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    if state.messages > 0 {
        for seq in state.first_sequence..=state.last_sequence {
            let msg = stream.get_raw_message(seq).await.expect("stored message");
            let payload: Value = serde_json::from_slice(&msg.payload).unwrap();
            let id = payload["requestId"].as_str().unwrap().to_owned();
            let header = msg.headers.get("Nats-Msg-Id").map(|v| v.to_string());
            assert_eq!(header.as_deref(), Some(id.as_str()), "message id header");
            let n = id
                .strip_prefix(&format!("{run_id}-"))
                .and_then(|n| n.parse::<u64>().ok());
            assert_eq!(
                Some(&payload["message"]),
                n.map(|n| json!({"n": n})).as_ref(),
                "payload of {id}"
            );
            *copies.entry(id).or_default() += 1;
        }
    }
    let mut confirmed = 0;
    for replica in [&a, &b] {
        confirmed += metric(
            replica,
            "alexa_endpoint_queue_publish_total{backend=\"nats\",result=\"confirmed\"}",
        )
        .await;
    }
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    let missing: Vec<_> = (0..messages)
        .map(|i| format!("{run_id}-{i}"))
        .filter(|id| !copies.contains_key(id))
        .collect();
    println!(
        "soak_queue: {report} stream_messages={} distinct={} twice={} missing={} \
         confirmed_publishes={confirmed} duplicate_window={:?}",
        state.messages,
        copies.len(),
        twice.len(),
        missing.len(),
        stream_config.duplicate_window,
    );

    assert!(twice.is_empty(), "in the stream more than once: {twice:?}");
    assert!(
        missing.is_empty(),
        "acknowledged but not in the stream: {missing:?}"
    );
    assert_eq!(copies.len(), messages);
    assert_eq!(state.messages, messages as u64);
    assert_eq!(report.redeliveries, messages / 10);
    // The restart bit: the endpoints refused (503) while the broker was down.
    assert!(report.fault_503 > 0, "{report}");
}

/// The value of the metric line starting with `series` on `replica`'s admin
/// listener (0 when absent).
async fn metric(replica: &ServeProcess, series: &str) -> u64 {
    let admin = replica.admin_addr.expect("the admin listener was logged");
    let text = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}
