//! `handler.kind = "list-sync"` end to end through the real server, against
//! a mock List Management API on loopback.

use alexa_endpoint::config::HandlerKind;
use alexa_endpoint::handlers::skill_from_config;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_support::*;
use crate::support::helpers::*;

const REQUEST_TOKEN: &str = "Atza|list-sync-request-token";

/// A message whose `apiEndpoint` is the mock and whose token is ours.
fn list_message(request_id: &str, api: &MockServer, message: serde_json::Value) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&message_body(request_id, message)).unwrap();
    v["context"]["System"]["apiEndpoint"] = api.uri().into();
    v["context"]["System"]["apiAccessToken"] = REQUEST_TOKEN.into();
    serde_json::to_vec(&v).unwrap()
}

async fn list_sync_app(api: &MockServer) -> TestApp {
    let mut cfg = test_config();
    cfg.handler.kind = HandlerKind::ListSync;
    cfg.alexa_api.allowed_endpoints = vec![api.uri()];
    spawn_app(skill_from_config(&cfg).unwrap(), cfg).await
}

async fn mount_reads(api: &MockServer, list_id: &str) {
    let bearer = format!("Bearer {REQUEST_TOKEN}");
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .mount(api)
        .await;
    for status in ["active", "completed"] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/v2/householdlists/{}/{status}",
                enc(list_id)
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(list_body(list_id, "x", vec![])))
            .mount(api)
            .await;
    }
}

#[tokio::test]
async fn add_milk_creates_the_item_with_the_request_token_then_acknowledges() {
    let api = MockServer::start().await;
    let id = shopping_id();
    mount_reads(&api, &id).await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/householdlists/{}/items", enc(&id))))
        .and(header(
            "authorization",
            format!("Bearer {REQUEST_TOKEN}").as_str(),
        ))
        .and(body_json(json!({"value": "milk", "status": "active"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(item("n1", "milk", "active", 1)))
        .expect(1)
        .mount(&api)
        .await;
    let app = list_sync_app(&api).await;
    let body = list_message(
        &unique("ls-ok"),
        &api,
        json!({"list": "shopping", "add": ["milk"]}),
    );
    let res = app.post(body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"version":"1.0","response":{}}"#
    );
    app.stop().await;
    // `.expect(1)` is verified when `api` drops.
}

#[tokio::test]
async fn list_api_500_is_not_acknowledged_and_the_redelivery_creates_the_item_once() {
    let api = MockServer::start().await;
    let id = shopping_id();
    mount_reads(&api, &id).await;
    let items = format!("/v2/householdlists/{}/items", enc(&id));
    Mock::given(method("POST"))
        .and(path(items.as_str()))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path(items.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(item("n1", "milk", "active", 1)))
        .expect(1)
        .mount(&api)
        .await;
    let app = list_sync_app(&api).await;
    let body = list_message(
        &unique("ls-500"),
        &api,
        json!({"list": "shopping", "add": ["milk"]}),
    );
    let first = app.post(body.clone()).await;
    assert!(first.status().is_server_error(), "{}", first.status());
    assert_eq!(app.post(body.clone()).await.status(), 200);
    // A third delivery is a duplicate: no more writes.
    assert_eq!(app.post(body).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_message_that_can_never_succeed_is_acknowledged_and_counted() {
    let api = MockServer::start().await;
    mount_reads(&api, &shopping_id()).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&api)
        .await;
    let app = list_sync_app(&api).await;
    let body = list_message(
        &unique("ls-bad"),
        &api,
        json!({"list": "no such list", "add": ["x"]}),
    );
    assert_eq!(app.post(body).await.status(), 200);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "alexa_endpoint_messages_unprocessable_total 1"),
        "{metrics}"
    );
    assert!(metrics
        .lines()
        .any(|l| l.starts_with("alexa_endpoint_alexa_api_calls_total{")
            && l.contains("api=\"lists\"")
            && l.contains("status=\"200\"")));
    app.stop().await;
}

#[tokio::test]
async fn evil_api_endpoint_gets_no_token() {
    let evil = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&evil)
        .await;
    let mut cfg = test_config();
    cfg.handler.kind = HandlerKind::ListSync;
    // Default allowlist: the three Alexa regions only.
    let app = spawn_app(skill_from_config(&cfg).unwrap(), cfg).await;
    let body = list_message(
        &unique("ls-evil"),
        &evil,
        json!({"list": "shopping", "add": ["milk"]}),
    );
    // Acknowledged as unprocessable (re-delivery cannot fix the endpoint), token never sent.
    assert_eq!(app.post(body).await.status(), 200);
    assert!(evil.received_requests().await.unwrap().is_empty());
    app.stop().await;
}
