//! Every bad input: exact status, JSON error body, handler not run.

use alexa_endpoint::{Response, Skill};
use serde_json::json;

use crate::support::helpers::*;

async fn counting_app(config: alexa_endpoint::Config) -> (TestApp, Runs) {
    let runs = Runs::default();
    let r = runs.clone();
    let skill = Skill::builder()
        .on_message(move |_ctx, _msg| {
            r.inc();
            async { Ok(Response::ack()) }
        })
        .fallback({
            let r = runs.clone();
            move |_ctx, _req| {
                r.inc();
                async { Ok(Response::ack()) }
            }
        })
        .build();
    (spawn_app(skill, config).await, runs)
}

async fn assert_error(res: reqwest::Response, status: u16, reason: &str) {
    assert_eq!(res.status(), status);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: serde_json::Value = res.json().await.expect("JSON error body");
    assert_eq!(v["error"], reason, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (app, runs) = counting_app(test_config()).await;
    assert_error(
        app.post(&b"{\"version\": 1.0, "[..]).await,
        400,
        "malformed_json",
    )
    .await;
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn empty_body_is_400() {
    let (app, runs) = counting_app(test_config()).await;
    assert_error(app.post(Vec::new()).await, 400, "malformed_json").await;
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn missing_required_field_is_400_naming_it() {
    let (app, runs) = counting_app(test_config()).await;
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["request"].as_object_mut().unwrap().remove("requestId");
    let res = app.post(serde_json::to_vec(&v).unwrap()).await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "missing_field");
    assert!(
        body["message"].as_str().unwrap().contains("requestId"),
        "{body}"
    );
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn message_over_6_kb_is_400() {
    let (app, runs) = counting_app(test_config()).await;
    let body = message_body(&unique("big"), json!("x".repeat(7000)));
    assert_error(app.post(body).await, 400, "message_too_large").await;
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let mut cfg = test_config();
    cfg.server.body_limit_bytes = 4096;
    let (app, runs) = counting_app(cfg).await;
    // Well-formed JSON, larger than the limit (padding in an unknown field).
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["padding"] = "p".repeat(5000).into();
    let res = app.post(serde_json::to_vec(&v).unwrap()).await;
    assert_error(res, 413, "body_too_large").await;
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn get_on_the_alexa_path_is_405() {
    let (app, runs) = counting_app(test_config()).await;
    assert_error(app.get("/").await, 405, "method_not_allowed").await;
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

#[tokio::test]
async fn other_path_is_404() {
    let (app, runs) = counting_app(test_config()).await;
    let res = app
        .client
        .post(app.url("/elsewhere"))
        .body(seed_payload())
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;
    assert_eq!(runs.get(), 0);
    app.stop().await;
}
