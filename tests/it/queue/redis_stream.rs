//! `backend = "redis-stream"` against the machine's Redis.

use std::net::SocketAddr;
use std::path::Path;

use alexa_endpoint::config::{QueueBackend, RedisStreamQueueConfig};
use redis::AsyncCommands;
use serde_json::{json, Value};

use super::proxy::TcpProxy;
use super::*;
use crate::support::redis::secret_url;
use crate::support::redis::{raw_connection, shared_redis, RedisServer, TestTls};

/// The `redis-stream` backend appending to `stream` at `url`.
pub(crate) fn backend(url: &str, stream: &str, maxlen: Option<u64>) -> QueueBackend {
    QueueBackend::RedisStream(RedisStreamQueueConfig {
        url: secret_url(url),
        stream: stream.to_owned(),
        maxlen,
        redis_tls_ca: None,
    })
}

/// A `redis-stream` backend on `url` trusting the CAs in `ca` (if any).
fn tls_backend(url: &str, stream: &str, ca: Option<&Path>) -> QueueBackend {
    QueueBackend::RedisStream(RedisStreamQueueConfig {
        url: secret_url(url),
        stream: stream.to_owned(),
        maxlen: None,
        redis_tls_ca: ca.map(Path::to_path_buf),
    })
}

/// `XRANGE`'s reply: (entry id, [(field, value)]).
type Entries = Vec<(String, Vec<(String, Vec<u8>)>)>;

/// Every entry of `stream`: its field names in order, `requestId`, `payload`.
async fn entries(url: &str, stream: &str) -> Vec<(Vec<String>, String, Value)> {
    let mut conn = raw_connection(url).await;
    let raw: Entries = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    raw.into_iter()
        .map(|(_entry_id, fields)| {
            let names = fields.iter().map(|(k, _)| k.clone()).collect();
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (
                names,
                String::from_utf8(get("requestId")).unwrap(),
                serde_json::from_slice(&get("payload")).unwrap(),
            )
        })
        .collect()
}

async fn delete(url: &str, stream: &str) {
    let mut conn = raw_connection(url).await;
    let _: () = conn.del(stream).await.unwrap();
}

fn fields() -> Vec<String> {
    vec!["requestId".to_owned(), "payload".to_owned()]
}

/// `XRANGE` over TLS, trusting `ca`: the entries' `requestId`s.
async fn tls_request_ids(url: &str, ca: &Path, stream: &str) -> Vec<String> {
    let certs = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(std::fs::read(ca).unwrap()),
    };
    let client = redis::Client::build_with_tls(url, certs).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Entries = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    raw.into_iter()
        .filter_map(|(_, fields)| {
            fields
                .into_iter()
                .find(|(k, _)| k == "requestId")
                .map(|(_, v)| String::from_utf8(v).unwrap())
        })
        .collect()
}

/// `rediss://` with `handler.queue.redis_tls_ca`: the same TLS rules as the
/// dedup store (certificate and host checked against the CA file).
#[tokio::test]
async fn rediss_url_with_the_right_ca_appends_once() {
    let tls = TestTls::new("queue", &["localhost", "127.0.0.1"]);
    let Some(server) = RedisServer::start_tls(tls.clone()).await else {
        return;
    };
    let url = server.url();
    assert!(url.starts_with("rediss://"), "{url}");
    let stream = unique("alexa-test-stream-tls");
    let app = spawn_queue_app(queue_config(
        tls_backend(&url, &stream, Some(&tls.ca)),
        true,
    ))
    .await;
    wait_ready(&app, 200).await;
    let id = unique("amzn1.echo-api.request.redis-tls");
    let res = app.post(message_body(&id, json!({"over": "tls"}))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(tls_request_ids(&url, &tls.ca, &stream).await, vec![id]);
    assert_eq!(publish_count(&app, "redis-stream", "confirmed").await, 1);
    app.stop().await;
}

/// A CA that did not sign the server's certificate, or none (web PKI roots
/// only): the handler does not start, and the error names the certificate.
#[tokio::test]
async fn rediss_url_with_a_wrong_or_no_ca_is_refused_at_start() {
    let tls = TestTls::new("queue-server", &["localhost", "127.0.0.1"]);
    let other = TestTls::new("queue-other", &["localhost", "127.0.0.1"]);
    let Some(server) = RedisServer::start_tls(tls.clone()).await else {
        return;
    };
    for ca in [Some(other.ca.as_path()), None] {
        let cfg = queue_config(tls_backend(&server.url(), "never-written", ca), true);
        let err = connect_skill_from_config(&cfg)
            .await
            .err()
            .unwrap_or_else(|| panic!("connected with CA {ca:?}"));
        assert_eq!(err.key, "handler.queue.url");
        assert!(
            err.reason.contains("TLS certificate not accepted"),
            "CA {ca:?}: {}",
            err.reason
        );
    }
}

#[tokio::test]
async fn appends_once_with_its_id_and_acknowledges_only_after_the_reply() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let stream = unique("alexa-test-stream");
    let app = spawn_queue_app(queue_config(backend(&url, &stream, Some(1000)), true)).await;
    let id = unique("amzn1.echo-api.request.redis");
    let message = json!({"sometag": "message blob"});

    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        entries(&url, &stream).await,
        vec![(fields(), id.clone(), expected_payload(&id, &message, true))]
    );
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries(&url, &stream).await.len(), 1, "published twice");
    assert_eq!(publish_count(&app, "redis-stream", "confirmed").await, 1);
    let ready: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["handler"], "redis-stream");
    app.stop().await;
    delete(&url, &stream).await;
}

#[tokio::test]
async fn include_token_false_leaves_the_token_out_of_the_payload() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let stream = unique("alexa-test-stream-notoken");
    let app = spawn_queue_app(queue_config(backend(&url, &stream, None), false)).await;
    let id = unique("amzn1.echo-api.request.redis-notoken");
    let message = json!({"sometag": "message blob"});
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    let got = entries(&url, &stream).await;
    assert_eq!(got.len(), 1);
    let payload = &got[0].2;
    assert_eq!(payload, &expected_payload(&id, &message, false));
    assert!(payload.get("apiAccessToken").is_none());
    assert!(!serde_json::to_string(payload)
        .unwrap()
        .contains("someAccessToken"));
    app.stop().await;
    delete(&url, &stream).await;
}

#[tokio::test]
async fn broker_down_answers_503_then_the_same_delivery_is_appended_once_when_it_is_back() {
    let Some(url) = shared_redis().await else {
        return;
    };
    let target = url::Url::parse(&url).unwrap();
    let upstream: SocketAddr = format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(6379)
    )
    .parse()
    .unwrap();
    let proxy = TcpProxy::start(upstream).await;
    let stream = unique("alexa-test-stream-down");
    let proxied = format!("redis://127.0.0.1:{}", proxy.port);
    let app = spawn_queue_app(queue_config(backend(&proxied, &stream, None), true)).await;
    wait_ready(&app, 200).await;

    proxy.cut();
    wait_ready(&app, 503).await;
    let id = unique("amzn1.echo-api.request.redis-down");
    let message = json!({"during": "outage"});
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 503);
    assert_eq!(publish_count(&app, "redis-stream", "failed").await, 1);
    assert!(
        entries(&url, &stream).await.is_empty(),
        "nothing may be appended"
    );

    proxy.restore();
    wait_ready(&app, 200).await;
    let res = app.post(message_body(&id, message.clone())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        entries(&url, &stream).await,
        vec![(fields(), id.clone(), expected_payload(&id, &message, true))]
    );
    assert_eq!(publish_count(&app, "redis-stream", "confirmed").await, 1);
    app.stop().await;
    delete(&url, &stream).await;
}
