//! Verification end to end through the real server: every rejection answers
//! 400 (503 for a failed cert download) with its reason, and runs no handler;
//! a correctly signed request is acknowledged.

use std::collections::BTreeMap;

use alexa_endpoint::config::Config;
use alexa_endpoint::dedup;
use alexa_endpoint::dev::{refresh_timestamp, sign_body, TestPki};
use alexa_endpoint::verify::Verifier;
use alexa_endpoint::{Endpoint, Server};
use serde_json::json;
use time::{Duration as TimeDelta, OffsetDateTime};

use crate::support::helpers::*;
use crate::verify_support::{roots_file, CountingSource, CERT_URL, OTHER_PKI, PKI, SKILL_ID};

struct VerifyingApp {
    app: TestApp,
    runs: Runs,
    _files: (tempfile::NamedTempFile, tempfile::NamedTempFile),
}

/// A server with full verification trusting [`PKI`] (via `extra_roots` and
/// `preloaded_certs`, exactly as an operator would configure it).
async fn verifying_app(tweak: impl FnOnce(&mut Config)) -> VerifyingApp {
    let roots = roots_file(&[&PKI]);
    let mut chain = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut chain, PKI.chain_pem().as_bytes()).unwrap();
    let mut cfg = test_config();
    cfg.verification.enabled = true;
    cfg.verification.skill_ids = vec![SKILL_ID.to_owned()];
    cfg.verification.extra_roots = Some(roots.path().to_owned());
    cfg.verification.preloaded_certs =
        BTreeMap::from([(CERT_URL.to_owned(), chain.path().to_owned())]);
    tweak(&mut cfg);
    let runs = Runs::default();
    let skill = counting_skill(&runs, std::time::Duration::ZERO);
    VerifyingApp {
        app: spawn_app(skill, cfg).await,
        runs,
        _files: (roots, chain),
    }
}

/// The seed payload for our skill, stamped `at`.
fn body_at(at: OffsetDateTime) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["context"]["System"]["application"] = json!({"applicationId": SKILL_ID});
    let raw = serde_json::to_vec(&v).unwrap();
    refresh_timestamp(&raw, at, Some(&unique("signed"))).unwrap()
}

fn headers_for(pki: &TestPki, body: &[u8]) -> Vec<(&'static str, String)> {
    let signed = sign_body(pki, body).unwrap();
    vec![
        ("SignatureCertChainUrl", signed.cert_url),
        ("Signature-256", signed.signature_256),
    ]
}

async fn expect_rejected(
    app: &VerifyingApp,
    body: Vec<u8>,
    headers: Vec<(&str, String)>,
    reason: &str,
) {
    let shown = String::from_utf8_lossy(&body).into_owned();
    let res = app.app.post_with(body, &headers).await;
    assert_eq!(res.status(), 400, "{reason}: {shown}");
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], reason, "{v}");
    assert_eq!(
        app.runs.get(),
        0,
        "a rejected request ran the handler ({reason})"
    );
}

#[tokio::test]
async fn a_correctly_signed_request_is_acknowledged() {
    let app = verifying_app(|_| {}).await;
    let body = body_at(OffsetDateTime::now_utc());
    let res = app
        .app
        .post_with(body.clone(), &headers_for(&PKI, &body))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.runs.get(), 1);
    app.app.stop().await;
}

#[tokio::test]
async fn every_rejection_is_400_with_its_reason_and_runs_nothing() {
    let app = verifying_app(|_| {}).await;
    let now = OffsetDateTime::now_utc();
    let good = body_at(now);
    let good_headers = headers_for(&PKI, &good);

    // Missing headers.
    expect_rejected(&app, good.clone(), vec![], "missing_cert_url").await;
    expect_rejected(
        &app,
        good.clone(),
        vec![good_headers[0].clone()],
        "missing_signature",
    )
    .await;
    // Tampered body (one byte of the message changed).
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replace("message blob", "message blub");
    expect_rejected(
        &app,
        tampered.into_bytes(),
        good_headers.clone(),
        "signature_mismatch",
    )
    .await;
    // Signed by another key under the same cert URL.
    expect_rejected(
        &app,
        good.clone(),
        headers_for(&OTHER_PKI, &good),
        "signature_mismatch",
    )
    .await;
    // Not base64.
    let garbled = vec![
        good_headers[0].clone(),
        ("Signature-256", "%%%not-base64%%%".to_owned()),
    ];
    expect_rejected(&app, good.clone(), garbled, "signature_not_base64").await;
    // Cert URL outside Amazon's rules.
    for url in [
        "http://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem",
        "https://notamazon.com/echo.api/echo-api-cert-dev.pem",
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-dev.pem",
        "https://s3.amazonaws.com:563/echo.api/echo-api-cert-dev.pem",
    ] {
        let headers = vec![
            ("SignatureCertChainUrl", url.to_owned()),
            good_headers[1].clone(),
        ];
        expect_rejected(&app, good.clone(), headers, "cert_url_not_allowed").await;
    }
    // Timestamps outside ±150 s (the exact ±150/151 edges are tested against
    // the verifier with a fixed `now`). Here the stamp is taken from the clock
    // right before each request, with a 10 s margin: whole-second stamps, the
    // time a request takes and a slow (shared) machine must not bring a
    // future stamp back inside the tolerance.
    for skew in [-160, 160] {
        let body = body_at(OffsetDateTime::now_utc() + TimeDelta::seconds(skew));
        expect_rejected(
            &app,
            body.clone(),
            headers_for(&PKI, &body),
            "timestamp_out_of_tolerance",
        )
        .await;
    }
    // Skill id: other, and missing.
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    v["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.someone-else".into();
    let other = serde_json::to_vec(&v).unwrap();
    expect_rejected(
        &app,
        other.clone(),
        headers_for(&PKI, &other),
        "skill_id_not_allowed",
    )
    .await;
    v["context"]["System"]
        .as_object_mut()
        .unwrap()
        .remove("application");
    let missing = serde_json::to_vec(&v).unwrap();
    expect_rejected(
        &app,
        missing.clone(),
        headers_for(&PKI, &missing),
        "skill_id_missing",
    )
    .await;
    // And the good one still passes: the rejections were for their reasons.
    assert_eq!(app.app.post_with(good, &good_headers).await.status(), 200);
    assert_eq!(app.runs.get(), 1);

    let metrics = app.app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l
                == "alexa_endpoint_verification_failures_total{reason=\"signature_mismatch\"} 2"),
        "{metrics}"
    );
    // The preloaded chain was validated once, then served from the cache.
    let hits = metrics
        .lines()
        .find_map(|l| l.strip_prefix("alexa_endpoint_cert_cache_hits_total "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(hits >= 5, "{metrics}");
    app.app.stop().await;
}

#[tokio::test]
async fn timestamps_at_the_tolerance_edge_are_accepted() {
    let app = verifying_app(|_| {}).await;
    // Whole-second stamps and elapsed time blur the edge by up to a second.
    for skew in [-148, 148] {
        let body = body_at(OffsetDateTime::now_utc() + TimeDelta::seconds(skew));
        let res = app
            .app
            .post_with(body.clone(), &headers_for(&PKI, &body))
            .await;
        assert_eq!(res.status(), 200, "skew {skew}");
    }
    app.app.stop().await;
}

#[tokio::test]
async fn a_failed_cert_download_is_503_and_runs_nothing() {
    let mut cfg = test_config();
    cfg.verification.enabled = true;
    // Nothing remembered (the memory of failures is tested in verify_cert_abuse).
    cfg.verification.cert_failure_ttl = std::time::Duration::ZERO;
    cfg.verification.skill_ids = vec![SKILL_ID.to_owned()];
    let roots = roots_file(&[&PKI]);
    cfg.verification.extra_roots = Some(roots.path().to_owned());
    // The source fails its first fetch, then serves the chain.
    let source = CountingSource::with(PKI.chain_pem().to_owned(), 1, std::time::Duration::ZERO);
    let verifier = Verifier::with_source(&cfg.verification, source.clone()).unwrap();
    let runs = Runs::default();
    let skill = counting_skill(&runs, std::time::Duration::ZERO);
    let endpoint = Endpoint::with_parts(
        skill,
        &cfg,
        Some(verifier),
        dedup::from_config(&cfg.dedup).unwrap(),
    )
    .unwrap();
    init_logs();
    let server = Server::bind_endpoint(endpoint, cfg).await.unwrap();
    let app = spawn_server(server, "/".into());
    let body = body_at(OffsetDateTime::now_utc());
    let headers = headers_for(&PKI, &body);
    let res = app.post_with(body.clone(), &headers).await;
    assert_eq!(res.status(), 503);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "cert_download_failed");
    assert_eq!(runs.get(), 0);
    // Not remembered: Alexa's retry downloads again and succeeds.
    assert_eq!(app.post_with(body, &headers).await.status(), 200);
    assert_eq!(source.fetches(), 2);
    assert_eq!(runs.get(), 1);
    app.stop().await;
}
