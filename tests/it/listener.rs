//! What the Alexa listener serves (only `POST {server.path}`), what the
//! admin listener serves, early answers (413 before the body, 431), and error
//! bodies without internal addresses.

use std::net::SocketAddr;
use std::time::Duration;

use alexa_endpoint::config::{DedupStoreConfig, OnStoreError, RedisDedupConfig, RedisTarget};
use alexa_endpoint::Skill;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::helpers::*;
use crate::support::redis::{free_port, secret_url, unique_prefix};

/// Write `request` on a new connection and read until the server closes it.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_to_close(&mut stream).await
}

/// Everything the server sends until it closes the connection (bounded by a
/// generous safety timeout: a hang fails the test).
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server did not close the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn ops_routes_are_absent_on_the_alexa_listener_and_present_on_the_admin_one() {
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), test_config()).await;
    assert_ne!(app.addr, app.admin_addr);
    for path in ["/healthz", "/readyz", "/metrics"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path} on the Alexa listener");
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["error"], "not_found");
        assert_eq!(app.admin_get(path).await.status(), 200, "{path} on admin");
    }
    // Only POST {server.path}: other methods 405, other paths 404.
    let res = app.get("/").await;
    assert_eq!(res.status(), 405);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "method_not_allowed");
    let res = app
        .client
        .post(app.url("/other"))
        .body(seed_payload())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // The admin listener does not serve the skill.
    let res = app
        .client
        .post(app.admin_url("/"))
        .body(seed_payload())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(runs.get(), 0);
    assert_eq!(app.post(seed_payload()).await.status(), 200);
    assert_eq!(runs.get(), 1);
    app.stop().await;
}

#[tokio::test]
async fn admin_listen_equal_to_listen_serves_both_on_one_port() {
    // A concrete port is needed (port 0 asks for two different ports).
    let port = free_port();
    let mut cfg = test_config();
    cfg.server.listen = SocketAddr::from(([127, 0, 0, 1], port));
    cfg.server.admin_listen = cfg.server.listen;
    let app = spawn_app(Skill::builder().build(), cfg).await;
    assert_eq!(app.addr, app.admin_addr);
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/metrics").await.status(), 200);
    assert_eq!(app.get("/nope").await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn expect_100_continue_with_an_oversized_length_is_413_without_continue() {
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), test_config()).await;
    let answer = exchange(
        app.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_length_is_413_before_the_body_is_sent() {
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), test_config()).await;
    // The body never comes: the answer cannot depend on reading it.
    let answer = exchange(
        app.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 131073\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"));
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let runs = Runs::default();
    let mut cfg = test_config();
    cfg.server.body_limit_bytes = 2048;
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;
    let chunk = "x".repeat(1500);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         5dc\r\n{chunk}\r\n5dc\r\n{chunk}\r\n0\r\n\r\n"
    );
    let answer = exchange(app.addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn headers_over_max_header_bytes_are_431() {
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), test_config()).await;
    let big = "a".repeat(20_000);
    let request =
        format!("POST / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\n{{}}");
    let answer = exchange(app.addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(runs.get(), 0);
    // A head within the limit is served.
    let fine = "a".repeat(4_000);
    let res = app
        .client
        .post(app.url("/"))
        .header("x-fine", fine)
        .body(seed_payload())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}

/// The HTTP/2 client preface followed by an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[tokio::test]
async fn h2c_prior_knowledge_is_refused_unless_enabled() {
    let app = spawn_app(Skill::builder().build(), test_config()).await;
    let answer = exchange(app.addr, H2_PREFACE).await;
    // No HTTP/2 SETTINGS frame comes back: the connection is just closed.
    assert!(answer.is_empty(), "{answer:?}");
    app.stop().await;

    let mut cfg = test_config();
    cfg.server.http2 = true;
    let app = spawn_app(Skill::builder().build(), cfg).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(H2_PREFACE).await.unwrap();
    let mut header = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(20), stream.read_exact(&mut header))
        .await
        .expect("an answer")
        .unwrap();
    assert_eq!(header[3], 0x4, "the server's first frame is SETTINGS");
    drop(stream);
    app.stop().await;
}

#[tokio::test]
async fn the_redis_down_503_body_names_no_address() {
    let port = free_port();
    let runs = Runs::default();
    let mut cfg = test_config();
    cfg.dedup.store = DedupStoreConfig::Redis(RedisDedupConfig {
        target: RedisTarget::Single(secret_url(&format!("redis://127.0.0.1:{port}"))),
        tls_ca: None,
        key_prefix: unique_prefix(),
    });
    cfg.dedup.on_store_error = OnStoreError::Reject;
    cfg.dedup.store_timeout = std::time::Duration::from_millis(300);
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;
    let res = app
        .post(message_body(&unique("redis-down"), json!({"n": 1})))
        .await;
    assert_eq!(res.status(), 503);
    let text = res.text().await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"], "dedup_store_unavailable");
    for leak in ["127.0.0.1", &port.to_string(), "redis://", "refused"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
    assert_eq!(runs.get(), 0);
    // Readiness says so too, without the address.
    let ready = app.admin_get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let text = ready.text().await.unwrap();
    assert!(!text.contains("127.0.0.1"), "{text}");
    app.stop().await;
}
