//! Cert cache: single flight, failed downloads, preloaded chains, stats.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use alexa_endpoint::dev::{TestPki, DEV_CERT_URL};
use alexa_endpoint::verify::{Verifier, VerifyError};
use time::Duration;

use super::verify_support::{config, now, roots_file, signed, verifier, CountingSource, PKI};

const BODY: &[u8] = br#"{"version":"1.0","request":{"type":"SessionEndedRequest"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_share_one_download() {
    let source = CountingSource::with(PKI.chain_pem().to_owned(), 0, StdDuration::from_millis(200));
    let v = verifier(&[&PKI], |_| {}, source.clone());
    let headers = signed(&PKI, BODY);
    let n = now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let v = v.clone();
            let headers = headers.clone();
            tokio::spawn(async move { v.verify_signature(&headers, BODY, n).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("join"), Ok(()));
    }
    assert_eq!(source.fetches(), 1);
    let stats = v.cert_stats();
    assert_eq!(stats.downloads, 1);
    assert_eq!(stats.hits + stats.misses, 50);
    assert_eq!(stats.download_errors, 0);
}

#[tokio::test]
async fn failed_download_is_transient_and_remembered() {
    let source = CountingSource::with(PKI.chain_pem().to_owned(), 1, StdDuration::ZERO);
    let v = verifier(&[&PKI], |_| {}, source.clone());
    let headers = signed(&PKI, BODY);

    let err = v
        .verify_signature(&headers, BODY, now())
        .await
        .expect_err("download fails");
    assert_eq!(err, VerifyError::CertDownload("HTTP 503".into()));
    assert!(err.is_transient());
    assert_eq!(err.reason(), "cert_download_failed");

    // Remembered for cert_failure_ttl_secs: the same answer, no new download.
    for _ in 0..3 {
        assert_eq!(
            v.verify_signature(&headers, BODY, now()).await,
            Err(err.clone())
        );
    }
    assert_eq!(source.fetches(), 1);
    let stats = v.cert_stats();
    assert_eq!((stats.downloads, stats.download_errors), (1, 1));
    assert_eq!((stats.downloads_failed, stats.negative_cached), (1, 3));
}

#[tokio::test]
async fn with_a_zero_failure_ttl_a_failed_download_is_not_remembered() {
    let source = CountingSource::with(PKI.chain_pem().to_owned(), 1, StdDuration::ZERO);
    let v = verifier(
        &[&PKI],
        |c| c.cert_failure_ttl = std::time::Duration::ZERO,
        source.clone(),
    );
    let headers = signed(&PKI, BODY);
    let err = v
        .verify_signature(&headers, BODY, now())
        .await
        .expect_err("download fails");
    assert!(matches!(err, VerifyError::CertDownload(_)), "{err:?}");
    // The next request downloads again, and succeeds.
    assert_eq!(v.verify_signature(&headers, BODY, now()).await, Ok(()));
    assert_eq!(source.fetches(), 2);
    let stats = v.cert_stats();
    assert_eq!((stats.downloads, stats.download_errors), (2, 1));
    assert_eq!(stats.downloads_ok, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_failing_url_cost_one_download() {
    let source = CountingSource::with("unused", usize::MAX, StdDuration::from_millis(100));
    let v = verifier(&[&PKI], |_| {}, source.clone());
    let headers = signed(&PKI, BODY);
    let n = now();
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let v = v.clone();
            let headers = headers.clone();
            tokio::spawn(async move { v.verify_signature(&headers, BODY, n).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.expect("join").expect_err("fails");
        assert_eq!(err.reason(), "cert_download_failed");
    }
    assert_eq!(source.fetches(), 1);
}

#[tokio::test]
async fn invalid_chain_is_remembered_as_a_failure_not_cached_as_a_chain() {
    let source = CountingSource::new("garbage");
    let v = verifier(&[&PKI], |_| {}, source.clone());
    let headers = signed(&PKI, BODY);
    for _ in 0..3 {
        let err = v
            .verify_signature(&headers, BODY, now())
            .await
            .expect_err("garbage");
        assert!(matches!(err, VerifyError::CertChainInvalid(_)));
    }
    assert_eq!(source.fetches(), 1);
    assert_eq!(v.cert_stats().downloads_ok, 1, "the download itself worked");

    // Without the memory, each request downloads (and rejects) it again.
    let source = CountingSource::new("garbage");
    let v = verifier(
        &[&PKI],
        |c| c.cert_failure_ttl = std::time::Duration::ZERO,
        source.clone(),
    );
    for _ in 0..2 {
        let err = v
            .verify_signature(&headers, BODY, now())
            .await
            .expect_err("garbage");
        assert!(matches!(err, VerifyError::CertChainInvalid(_)));
    }
    assert_eq!(source.fetches(), 2);
}

#[tokio::test]
async fn urls_are_cached_by_their_normalised_form() {
    let source = CountingSource::chain(&PKI);
    let v = verifier(&[&PKI], |_| {}, source.clone());
    for url in [
        DEV_CERT_URL,
        "HTTPS://S3.AMAZONAWS.COM:443/echo.api/echo-api-cert-dev.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert-dev.pem",
    ] {
        let mut headers = signed(&PKI, BODY);
        headers.insert(
            alexa_endpoint::verify::CERT_URL_HEADER,
            http::HeaderValue::from_str(url).expect("header"),
        );
        assert_eq!(
            v.verify_signature(&headers, BODY, now()).await,
            Ok(()),
            "{url}"
        );
    }
    assert_eq!(source.fetches(), 1);
}

#[tokio::test]
async fn preloaded_certs_fill_the_cache_without_downloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = PKI.write_to(dir.path()).expect("write pki");
    let mut cfg = config();
    cfg.extra_roots = Some(dir.join("root.pem"));
    cfg.preloaded_certs = BTreeMap::from([(
        // Any spelling that normalises to the same URL works.
        "HTTPS://s3.amazonaws.com:443/echo.api/echo-api-cert-dev.pem".to_owned(),
        dir.join("chain.pem"),
    )]);
    let source = CountingSource::new("never used");
    let v = Verifier::with_source(&cfg, source.clone()).expect("verifier");
    let headers = signed(&PKI, BODY);
    for _ in 0..3 {
        assert_eq!(v.verify_signature(&headers, BODY, now()).await, Ok(()));
    }
    assert_eq!(source.fetches(), 0);
    assert_eq!(v.cert_stats().downloads, 0);
}

#[tokio::test]
async fn expired_preloaded_chain_does_not_stop_start_up_but_is_rejected() {
    let n = now();
    let expired = TestPki::builder()
        .leaf_validity(n - Duration::days(10), n - Duration::days(1))
        .build()
        .expect("pki");
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = expired.write_to(dir.path()).expect("write pki");
    let mut cfg = config();
    cfg.extra_roots = Some(dir.join("root.pem"));
    cfg.preloaded_certs = BTreeMap::from([(DEV_CERT_URL.to_owned(), dir.join("chain.pem"))]);

    // from_config (production source): starts, with a warning.
    let v = Verifier::from_config(&cfg).expect("an expired preloaded chain only warns");
    assert_eq!(
        v.verify_signature(&signed(&expired, BODY), BODY, n).await,
        Err(VerifyError::CertExpired)
    );
    assert_eq!(v.cert_stats().downloads, 0, "never downloaded instead");
}

#[tokio::test]
async fn garbage_preloaded_chain_does_not_stop_start_up_but_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dir.path().join("chain.pem");
    std::fs::write(&chain, "garbage").expect("write");
    let mut cfg = config();
    cfg.preloaded_certs = BTreeMap::from([(DEV_CERT_URL.to_owned(), chain)]);
    let v = Verifier::from_config(&cfg).expect("starts");
    let err = v
        .verify_signature(&signed(&PKI, BODY), BODY, now())
        .await
        .expect_err("garbage");
    assert!(matches!(err, VerifyError::CertChainInvalid(_)), "{err:?}");
}

#[test]
fn start_up_errors_name_the_key() {
    let mut cfg = config();
    cfg.extra_roots = Some("/nonexistent/roots.pem".into());
    let err = Verifier::from_config(&cfg).expect_err("missing roots");
    assert_eq!(err.key, "verification.extra_roots");

    let empty = roots_file(&[]);
    cfg.extra_roots = Some(empty.path().to_owned());
    let err = Verifier::from_config(&cfg).expect_err("empty roots");
    assert_eq!(err.key, "verification.extra_roots");

    let mut cfg = config();
    cfg.preloaded_certs = BTreeMap::from([(DEV_CERT_URL.to_owned(), "/nonexistent.pem".into())]);
    let err = Verifier::from_config(&cfg).expect_err("missing preloaded file");
    assert_eq!(err.key, "verification.preloaded_certs");

    let file = roots_file(&[&PKI]);
    let mut cfg = config();
    cfg.preloaded_certs = BTreeMap::from([(
        "https://evil.example/echo.api/cert.pem".to_owned(),
        file.path().to_owned(),
    )]);
    let err = Verifier::from_config(&cfg).expect_err("URL breaks the rules");
    assert_eq!(err.key, "verification.preloaded_certs");
    assert!(err.to_string().contains("evil.example"), "{err}");
}

#[test]
fn verifier_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
}
