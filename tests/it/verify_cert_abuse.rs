//! Caller-chosen cert URLs through the real server: a failed URL is
//! remembered (one download however many requests name it), a 4xx from S3
//! answers 400 and a 5xx 503, and past `cert_download_concurrency` running
//! downloads one more answers 503 at once. Nothing is ever handled.

use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::Config;
use alexa_endpoint::dedup;
use alexa_endpoint::verify::{CertSource, Verifier};
use alexa_endpoint::{Endpoint, Server};
use serde_json::json;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::helpers::*;
use crate::verify_support::{roots_file, GatedSource, MockS3, PKI, SKILL_ID};

struct App {
    app: TestApp,
    runs: Runs,
    _roots: tempfile::NamedTempFile,
}

/// A server with full verification whose cert downloads go to `source`.
async fn app_with(source: Arc<dyn CertSource>, tweak: impl FnOnce(&mut Config)) -> App {
    let roots = roots_file(&[&PKI]);
    let mut cfg = test_config();
    cfg.verification.enabled = true;
    cfg.verification.skill_ids = vec![SKILL_ID.to_owned()];
    cfg.verification.extra_roots = Some(roots.path().to_owned());
    tweak(&mut cfg);
    let verifier = Verifier::with_source(&cfg.verification, source).unwrap();
    let runs = Runs::default();
    let endpoint = Endpoint::with_parts(
        counting_skill(&runs, Duration::ZERO),
        &cfg,
        Some(verifier),
        dedup::from_config(&cfg.dedup).unwrap(),
    )
    .unwrap();
    init_logs();
    let server = Server::bind_endpoint(endpoint, cfg).await.unwrap();
    App {
        app: spawn_server(server, "/".into()),
        runs,
        _roots: roots,
    }
}

/// A well-formed message for our skill naming `cert_url`, with a signature
/// that is base64 but signs nothing (the attacker has no key).
fn unsigned_request(cert_url: &str) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["context"]["System"]["application"] = json!({"applicationId": SKILL_ID});
    v["request"]["requestId"] = unique("cert-abuse").into();
    v["request"]["timestamp"] = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    let headers = vec![
        ("SignatureCertChainUrl", cert_url.to_owned()),
        ("Signature-256", "c2lnbmF0dXJl".repeat(22)),
    ];
    (serde_json::to_vec(&v).unwrap(), headers)
}

fn s3(name: &str) -> String {
    format!("https://s3.amazonaws.com/echo.api/{name}")
}

async fn post(app: &TestApp, cert_url: &str) -> (u16, String) {
    let (body, headers) = unsigned_request(cert_url);
    let res = app.post_with(body, &headers).await;
    let status = res.status().as_u16();
    let v: serde_json::Value = res.json().await.unwrap();
    (status, v["error"].as_str().unwrap_or_default().to_owned())
}

/// The value of one exposition line, e.g. `..._total{result="ok"}`.
async fn metric(app: &TestApp, series: &str) -> Option<u64> {
    let text = app.admin_get("/metrics").await.text().await.unwrap();
    metric_value(&text, series).map(|v| v as u64)
}

#[tokio::test]
async fn a_missing_chain_is_400_and_downloaded_once_for_many_requests() {
    let s3_mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/echo.api/no-such-chain.pem"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&s3_mock)
        .await;
    let app = app_with(MockS3::new(&s3_mock, Duration::from_secs(5)), |_| {}).await;
    for _ in 0..20 {
        assert_eq!(
            post(&app.app, &s3("no-such-chain.pem")).await,
            (400, "cert_not_found".to_owned())
        );
    }
    // One download, no retry of a 4xx, and the other 19 answered from memory.
    assert_eq!(s3_mock.received_requests().await.unwrap().len(), 1);
    assert_eq!(app.runs.get(), 0);
    let series = |r: &str| format!("alexa_endpoint_cert_downloads_total{{result=\"{r}\"}}");
    assert_eq!(metric(&app.app, &series("not_found")).await, Some(1));
    assert_eq!(metric(&app.app, &series("negative_cached")).await, Some(19));
    assert_eq!(metric(&app.app, &series("ok")).await, Some(0));
    app.app.stop().await;
}

#[tokio::test]
async fn an_s3_403_is_a_missing_chain_too() {
    // S3 answers 403 for a missing key in a bucket the caller may not list.
    let s3_mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&s3_mock)
        .await;
    let app = app_with(MockS3::new(&s3_mock, Duration::from_secs(5)), |_| {}).await;
    assert_eq!(
        post(&app.app, &s3("denied.pem")).await,
        (400, "cert_not_found".to_owned())
    );
    assert_eq!(s3_mock.received_requests().await.unwrap().len(), 1);
    assert_eq!(app.runs.get(), 0);
    app.app.stop().await;
}

#[tokio::test]
async fn an_s3_5xx_is_503_retried_once_and_then_remembered() {
    let s3_mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal 10.0.0.7 detail"))
        .mount(&s3_mock)
        .await;
    let app = app_with(MockS3::new(&s3_mock, Duration::from_secs(5)), |_| {}).await;
    let (body, headers) = unsigned_request(&s3("flaky.pem"));
    let res = app.app.post_with(body, &headers).await;
    assert_eq!(res.status(), 503);
    let text = res.text().await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"], "cert_download_failed");
    // No upstream text and no mock address in the body.
    assert!(
        !text.contains("10.0.0.7") && !text.contains("127.0.0.1"),
        "{text}"
    );
    // The first attempt and its one retry.
    assert_eq!(s3_mock.received_requests().await.unwrap().len(), 2);
    for _ in 0..5 {
        assert_eq!(
            post(&app.app, &s3("flaky.pem")).await,
            (503, "cert_download_failed".to_owned())
        );
    }
    assert_eq!(s3_mock.received_requests().await.unwrap().len(), 2);
    assert_eq!(app.runs.get(), 0);
    let failed = "alexa_endpoint_cert_downloads_total{result=\"failed\"}";
    assert_eq!(metric(&app.app, failed).await, Some(1));
    app.app.stop().await;
}

#[tokio::test]
async fn with_a_zero_failure_ttl_each_request_downloads_again() {
    let s3_mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&s3_mock)
        .await;
    let app = app_with(MockS3::new(&s3_mock, Duration::from_secs(5)), |c| {
        c.verification.cert_failure_ttl = std::time::Duration::ZERO;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            post(&app.app, &s3("gone.pem")).await,
            (400, "cert_not_found".to_owned())
        );
    }
    assert_eq!(s3_mock.received_requests().await.unwrap().len(), 3);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_download_cap_one_more_url_is_503_at_once() {
    const CAP: usize = 3;
    let source = GatedSource::new();
    let app = app_with(source.clone(), |c| {
        c.verification.cert_download_concurrency = CAP;
    })
    .await;
    let app = Arc::new(app);
    // CAP distinct URLs whose downloads hang.
    let hanging: Vec<_> = (0..CAP)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { post(&app.app, &s3(&format!("hang-{i}.pem"))).await })
        })
        .collect();
    source.wait_for(CAP).await;
    // One more distinct URL: refused without a download, while the others hang.
    assert_eq!(
        post(&app.app, &s3("one-more.pem")).await,
        (503, "cert_downloads_saturated".to_owned())
    );
    assert_eq!(source.asked().len(), CAP);
    assert!(hanging.iter().all(|h| !h.is_finished()));
    // A URL already being downloaded takes no slot: it shares that download
    // (or, once it failed, its remembered answer).
    let joined = {
        let app = app.clone();
        tokio::spawn(async move { post(&app.app, &s3("hang-0.pem")).await })
    };

    source.release();
    for h in hanging {
        assert_eq!(h.await.unwrap(), (400, "cert_not_found".to_owned()));
    }
    assert_eq!(joined.await.unwrap(), (400, "cert_not_found".to_owned()));
    assert_eq!(source.asked().len(), CAP);
    // Saturation is not a failure of the URL: with slots free it downloads.
    assert_eq!(
        post(&app.app, &s3("one-more.pem")).await,
        (400, "cert_not_found".to_owned())
    );
    assert_eq!(source.asked().len(), CAP + 1);
    assert_eq!(app.runs.get(), 0);
    let metrics = app.app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l
            == "alexa_endpoint_verification_failures_total{reason=\"cert_downloads_saturated\"} 1"),
        "{metrics}"
    );
    // The shedding panel and alert see it as an outbound pool at capacity.
    assert!(
        metrics
            .lines()
            .any(|l| l == "alexa_endpoint_shed_requests_total{reason=\"outbound_saturated\"} 1"),
        "{metrics}"
    );
    let app = Arc::into_inner(app).expect("no other owner");
    app.app.stop().await;
}
