//! The `webhook` built-in handler against a wiremock backend.

use std::time::Duration;

use alexa_endpoint::config::{HandlerKind, WebhookConfig, WebhookSecret};
use alexa_endpoint::handlers::{skill_from_config, webhook};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::helpers::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn webhook_config(server: &MockServer, secret: Option<&str>) -> alexa_endpoint::Config {
    let mut cfg = test_config();
    cfg.handler.kind = HandlerKind::Webhook;
    cfg.handler.webhook = Some(WebhookConfig {
        url: format!("{}/alexa-messages", server.uri()).parse().unwrap(),
        secret: secret.map(|s| WebhookSecret::parse(s).unwrap()),
    });
    cfg
}

#[tokio::test]
async fn forwards_the_exact_body_with_a_valid_signature_then_acknowledges() {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/alexa-messages"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&backend)
        .await;
    let cfg = webhook_config(&backend, Some(SECRET));
    let skill = skill_from_config(&cfg).unwrap();
    let app = spawn_app(skill, cfg).await;
    let res = app.post(seed_payload()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"version":"1.0","response":{}}"#
    );

    let received = backend.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let req = &received[0];
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "requestId": "unique request ID",
            "timestamp": "2022-10-03T16:20:50.52Z",
            "userId": "user.id.1",
            "skillId": null,
            "apiEndpoint": "https://api.amazonalexa.com",
            "apiAccessToken": "someAccessToken.2",
            "message": {"sometag": "message blob"}
        })
    );
    let h = |name: &str| req.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("webhook-id"), "unique request ID");
    let ts: i64 = h("webhook-timestamp").parse().unwrap();
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() - ts).abs() < 60);
    // Verify as a Standard Webhooks consumer would.
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let key = secret.expose_key();
    let expected = webhook::sign(key, "unique request ID", ts, &req.body);
    assert_eq!(h("webhook-signature"), expected);
    // Tamper check: a different body gives a different signature.
    assert_ne!(webhook::sign(key, "unique request ID", ts, b"{}"), expected);
    app.stop().await;
}

#[tokio::test]
async fn without_a_secret_no_signature_headers_are_sent() {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&backend)
        .await;
    let cfg = webhook_config(&backend, None);
    let app = spawn_app(skill_from_config(&cfg).unwrap(), cfg).await;
    assert_eq!(app.post(seed_payload()).await.status(), 200);
    let received = backend.received_requests().await.unwrap();
    assert!(received[0].headers.get("webhook-signature").is_none());
    app.stop().await;
}

#[tokio::test]
async fn webhook_500_is_not_acknowledged_and_the_redelivery_is_forwarded_again() {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&backend)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&backend)
        .await;
    let cfg = webhook_config(&backend, Some(SECRET));
    let app = spawn_app(skill_from_config(&cfg).unwrap(), cfg).await;
    let body = message_body(&unique("wh500"), json!({"k": "v"}));
    let res = app.post(body.clone()).await;
    assert!(res.status().is_server_error(), "{}", res.status());
    assert_eq!(app.post(body).await.status(), 200);
    assert_eq!(backend.received_requests().await.unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn webhook_timeout_is_a_5xx_bounded_by_the_deadline() {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&backend)
        .await;
    let mut cfg = webhook_config(&backend, None);
    cfg.handler.deadline = std::time::Duration::from_millis(300);
    let app = spawn_app(skill_from_config(&cfg).unwrap(), cfg).await;
    let res = app.post(message_body(&unique("whslow"), json!({}))).await;
    assert_eq!(res.status(), 503);
    app.stop().await;
}
