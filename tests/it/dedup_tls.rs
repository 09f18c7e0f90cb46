//! The Redis dedup store over TLS (`rediss://`) against a private
//! `redis-server --tls-port` with a test CA made by rcgen: the right CA
//! works, a wrong CA, no CA (web PKI roots) and a wrong host name are
//! refused with a clear error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::DedupConfig;
use alexa_endpoint::dedup::{from_config, new_owner_token, Claim, StoreError};

use crate::dedup_store::{id, lifecycle, LONG};
use crate::support::redis::{redis_config, redis_part, RedisServer, TestTls};

fn tls_config(url: &str, ca: Option<&Path>) -> DedupConfig {
    let mut cfg = redis_config(url, 2000);
    redis_part(&mut cfg).tls_ca = ca.map(Path::to_path_buf);
    cfg
}

async fn tls_server(tls: &Arc<TestTls>) -> Option<RedisServer> {
    RedisServer::start_tls(tls.clone()).await
}

/// The store with the server's CA: ping, claims and duplicates work.
#[tokio::test]
async fn dedup_redis_tls_with_the_right_ca_works() {
    let tls = TestTls::new("right", &["localhost", "127.0.0.1"]);
    let Some(server) = tls_server(&tls).await else {
        return;
    };
    let store = from_config(&tls_config(&server.url(), Some(&tls.ca))).unwrap();
    store.ping().await.unwrap();
    lifecycle(&*store).await;

    // By host name too (the certificate names `localhost`).
    let by_name = format!("rediss://localhost:{}", server.port());
    let store = from_config(&tls_config(&by_name, Some(&tls.ca))).unwrap();
    let (id, owner) = (id(), new_owner_token());
    assert_eq!(store.claim(&id, &owner, LONG).await.unwrap(), Claim::New);
    store.finish(&id, &owner, LONG).await.unwrap();
    assert_eq!(
        store.claim(&id, &new_owner_token(), LONG).await.unwrap(),
        Claim::Done
    );
}

fn assert_refused(got: Result<(), StoreError>, what: &str) -> String {
    let err = got.expect_err(what);
    assert!(matches!(err, StoreError::Unavailable(_)), "{what}: {err:?}");
    let text = err.to_string();
    eprintln!("{what}: {text}");
    assert!(
        text.contains("TLS certificate not accepted"),
        "{what}: the error must say it is the certificate: {text}"
    );
    text
}

/// A CA that did not sign the server's certificate: every call is refused
/// with an error that names the certificate, and nothing reaches Redis.
#[tokio::test]
async fn dedup_redis_tls_wrong_ca_is_refused() {
    let tls = TestTls::new("server", &["localhost", "127.0.0.1"]);
    let other = TestTls::new("other", &["localhost", "127.0.0.1"]);
    let Some(server) = tls_server(&tls).await else {
        return;
    };
    let store = from_config(&tls_config(&server.url(), Some(&other.ca))).unwrap();
    let text = assert_refused(store.ping().await, "ping with the wrong CA");
    assert!(text.contains(&server.port().to_string()), "{text}");
    let claim = store.claim(&id(), &new_owner_token(), LONG).await;
    assert!(claim.is_err(), "claim with the wrong CA: {claim:?}");

    // Without a CA file only the web PKI roots are trusted: refused too.
    let store = from_config(&tls_config(&server.url(), None)).unwrap();
    assert_refused(store.ping().await, "ping without a CA file");
}

/// The certificate is for `localhost` only: connecting to 127.0.0.1 is
/// refused (the host name is checked, not only the issuer).
#[tokio::test]
async fn dedup_redis_tls_wrong_host_name_is_refused() {
    let tls = TestTls::new("named", &["localhost"]);
    let Some(server) = tls_server(&tls).await else {
        return;
    };
    let store = from_config(&tls_config(&server.url(), Some(&tls.ca))).unwrap();
    assert_refused(
        store.ping().await,
        "ping of 127.0.0.1 with a localhost cert",
    );
    let by_name = format!("rediss://localhost:{}", server.port());
    let store = from_config(&tls_config(&by_name, Some(&tls.ca))).unwrap();
    store.ping().await.unwrap();
}

/// A plain client against the TLS port does not get an answer that looks
/// like success: the error is prompt, not a hang.
#[tokio::test]
async fn dedup_redis_plain_url_against_tls_port_fails_within_timeout() {
    let tls = TestTls::new("plain", &["127.0.0.1"]);
    let Some(server) = tls_server(&tls).await else {
        return;
    };
    let plain = format!("redis://127.0.0.1:{}", server.port());
    let mut cfg = redis_config(&plain, 300);
    redis_part(&mut cfg).tls_ca = None;
    let store = from_config(&cfg).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), store.ping()).await;
    assert!(matches!(got, Ok(Err(_))), "{got:?}");
}
