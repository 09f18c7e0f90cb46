//! Cost of the Alexa API client's plumbing (retry loop, call slot, request
//! clone, observers, status mapping, JSON decode) on the success path,
//! against a bare `reqwest` GET of the same URL on the same loopback mock in
//! the same run.
//!
//! `cargo bench --bench api_client` (add `-- --quick` for a short run).

use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::api::{AlexaApi, RemindersClient};
use alexa_endpoint::config::AlexaApiConfig;
use criterion::Criterion;
use secrecy::SecretString;
use serde_json::json;
use tokio::runtime::Runtime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "bench-token";

fn main() {
    alexa_endpoint::install_crypto_provider();
    let rt = Runtime::new().expect("runtime");
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/alerts/reminders"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "totalCount": "1",
                "alerts": [{"alertToken": "t", "status": "ON", "version": "1"}]
            })))
            .mount(&server)
            .await;
        server
    });
    let url = format!("{}/v1/alerts/reminders", server.uri());
    let bare = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let api = AlexaApi::new(&AlexaApiConfig {
        allowed_endpoints: vec![server.uri()],
        timeout: Duration::from_millis(3000),
    })
    .expect("api")
    .with_observer({
        let calls = calls.clone();
        Arc::new(move |_, _| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
    });
    let client: RemindersClient = api
        .reminders(&server.uri(), SecretString::from(TOKEN))
        .expect("client");

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("alexa_api_get");
    group.bench_function("bare_reqwest", |b| {
        b.iter(|| {
            rt.block_on(async {
                let res = bare
                    .get(&url)
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .expect("answer");
                assert!(res.status().is_success());
                res.bytes().await.expect("body")
            })
        })
    });
    group.bench_function("reminders_client_list", |b| {
        b.iter(|| rt.block_on(async { client.list().await.expect("list") }))
    });
    group.finish();
    c.final_summary();
}
