//! Soak of the durable hand-off: 2 endpoint processes with the `queue`
//! handler publishing to a private NATS JetStream (file storage), Redis
//! dedup, signed requests with full verification, 10 % re-deliveries to
//! random replicas, every non-200 retried like Alexa does; nats-server is
//! stalled (SIGSTOP, then SIGCONT) a third of the way in and killed
//! (SIGKILL) and restarted on the same port and store two thirds of the way
//! in. Afterwards the stream holds every message exactly once, none missing.
//!
//! Short form (500 messages) runs with the other tests; the full form:
//! `SOAK_MESSAGES=5000 cargo test --test it soak_queue -- --nocapture`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alexa_endpoint::config::{NatsQueueConfig, QueueBackend};
use async_nats::jetstream::stream;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::support::alexa::{soak_messages, Running, Sender};
use crate::support::config::{queue_handler, redis_dedup, trust_dev_pki};
use crate::support::helpers::*;
use crate::support::nats::NatsServer;
use crate::support::redis::{secret_url, shared_redis, unique_prefix};
use crate::support::serve::ServeProcess;
use crate::support::wait::{eventually, wait_for};
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
    let mut config = test_config();
    redis_dedup(
        &mut config,
        &redis_url,
        &unique_prefix(),
        Duration::from_millis(300),
    );
    queue_handler(
        &mut config,
        QueueBackend::Nats(NatsQueueConfig {
            url: secret_url(&nats.url()),
            subject: subject.clone(),
        }),
    );
    config.handler.deadline = Duration::from_millis(DEADLINE_MS);
    trust_dev_pki(&mut config, &PKI, &pki_dir);
    let a = ServeProcess::builder(&config).quiet().start().await;
    let b = ServeProcess::builder(&config).quiet().start().await;

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
    let wire = watch(&nats, &subject).await;
    let running = sender.spawn();
    let progress = running.progress.clone();

    // Stall the broker (SIGSTOP) a third of the way in, until the endpoints
    // gave up on publishes they had sent (503, claim released); resumed, it
    // stores that backlog, so Alexa's retries publish messages the stream
    // already holds: JetStream's Nats-Msg-Id dedup must drop those copies.
    running
        .wait_until("a third of the deliveries acknowledged", |p| {
            p.acked() >= total / 3
        })
        .await;
    let replicas = [&a, &b];
    let in_flight_at_stall = progress.fault_begins();
    nats.pause();
    wait_for_refusals(&running, &replicas, "the broker stalls").await;
    nats.resume();
    progress.fault_ends();
    let stall_503 = progress.fault_503();

    // Crash it (SIGKILL) two thirds of the way in and keep it down until the
    // endpoints answered 503 for it; then start it on the same port and
    // store (the stream, its messages and its dedup state survive).
    running
        .wait_until("two thirds of the deliveries acknowledged", |p| {
            p.acked() >= total * 2 / 3
        })
        .await;
    let in_flight_at_crash = progress.fault_begins();
    nats.kill().await;
    wait_for_refusals(&running, &replicas, "the broker is down").await;
    nats.restart().await;
    progress.fault_ends();
    let report = running.finish().await;
    let crash_503 = report.fault_503 - stall_503;

    // The stall made the endpoints publish a stored message again (shown
    // by the watcher as a second copy on the subject).
    eventually(
        "a message published twice (else the stall did not hit an unconfirmed publish)",
        Duration::from_secs(30),
        async || wire.lock().unwrap().values().any(|&n| n >= 2),
    )
    .await;

    // Read the whole stream back.
    let mut stream = nats
        .jetstream()
        .await
        .get_stream(&stream_name)
        .await
        .expect("the stream survived the restart");
    let state = stream.info().await.expect("stream info").state.clone();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let mut bad_headers = Vec::new();
    if state.messages > 0 {
        for seq in state.first_sequence..=state.last_sequence {
            let msg = stream.get_raw_message(seq).await.expect("stored message");
            let payload: Value = serde_json::from_slice(&msg.payload).unwrap();
            let id = payload["requestId"].as_str().unwrap().to_owned();
            let header = msg.headers.get("Nats-Msg-Id").map(|v| v.to_string());
            if header.as_deref() != Some(id.as_str()) {
                bad_headers.push((seq, header));
            }
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
    let confirmed = publishes(&replicas, "confirmed").await;
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    let missing: Vec<_> = (0..messages)
        .map(|i| format!("{run_id}-{i}"))
        .filter(|id| !copies.contains_key(id))
        .collect();
    let (wire_publishes, republished) = {
        let wire = wire.lock().unwrap();
        (
            wire.values().sum::<usize>(),
            wire.values().filter(|&&n| n > 1).count(),
        )
    };
    println!(
        "soak_queue: {report} stall_503={stall_503} in_flight_at_stall={in_flight_at_stall} \
         crash_503={crash_503} in_flight_at_crash={in_flight_at_crash} \
         publishes_seen_on_subject={wire_publishes} ids_published_more_than_once={republished} \
         stream_messages={} distinct={} twice={} missing={} confirmed_publishes={confirmed} \
         duplicate_window={:?}",
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
    assert!(
        bad_headers.is_empty(),
        "Nats-Msg-Id is not the requestId: {bad_headers:?}"
    );
    assert_eq!(copies.len(), messages);
    assert_eq!(state.messages, messages as u64);
    assert_eq!(report.redeliveries, messages / 10);
    // Both faults bit: the endpoints refused (503) during each.
    assert!(stall_503 > 0 && crash_503 > 0, "{report}");
}

/// Copies per requestId of every message published on `subject` (a plain
/// NATS subscription sees them all, also those JetStream drops as
/// duplicates; it misses those sent while the broker is down).
async fn watch(nats: &NatsServer, subject: &str) -> Arc<Mutex<HashMap<String, usize>>> {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut sub = client.subscribe(subject.to_owned()).await.unwrap();
    // The subscription is in place before anything is published.
    client.flush().await.unwrap();
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let tally = seen.clone();
    tokio::spawn(async move {
        let _client = client;
        while let Some(msg) = sub.next().await {
            let payload: Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
            let id = payload["requestId"].as_str().unwrap_or_default().to_owned();
            *tally.lock().unwrap().entry(id).or_default() += 1;
        }
    });
    seen
}

/// Wait until the replicas have failed a publish (a broker refusal, not a
/// dedup store hiccup) and the sender has seen a 503 since the fault began;
/// panics after a minute.
async fn wait_for_refusals(running: &Running, replicas: &[&ServeProcess], what: &str) {
    let (answered, failed) = (
        running.progress.fault_503(),
        publishes(replicas, "failed").await,
    );
    let awaited = format!("a publish failed and answered 503 while {what}");
    wait_for(&awaited, Duration::from_secs(60), async || {
        let (answered_now, failed_now) = (
            running.progress.fault_503(),
            publishes(replicas, "failed").await,
        );
        if answered_now != answered && failed_now != failed {
            Ok(())
        } else {
            Err(format!(
                "{answered_now} 503s during faults (was {answered}), \
                 {failed_now} failed publishes (was {failed})"
            ))
        }
    })
    .await;
}

/// Publishes to NATS with `result` ("confirmed", "failed") over `replicas`.
async fn publishes(replicas: &[&ServeProcess], result: &str) -> u64 {
    let series =
        format!("alexa_endpoint_queue_publish_total{{backend=\"nats\",result=\"{result}\"}}");
    let mut sum = 0;
    for replica in replicas {
        sum += metric(replica, &series).await;
    }
    sum
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
    metric_value(&text, series).map_or(0, |v| v as u64)
}
