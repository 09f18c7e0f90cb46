//! Input caps through the real server: a `requestId` over 256 bytes and a
//! key repeated in any object of the envelope answer 400 with their reason,
//! and nothing is handled.

use std::time::Duration;

use serde_json::json;

use crate::support::helpers::*;

async fn app() -> (TestApp, Runs) {
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), test_config()).await;
    (app, runs)
}

/// A message body as compact JSON text (serde_json keeps the key order).
fn body_text(request_id: &str) -> String {
    String::from_utf8(message_body(request_id, json!({"list": "shopping"}))).unwrap()
}

/// Posts `body`; returns the status and the JSON error body.
async fn post(app: &TestApp, body: String) -> (u16, serde_json::Value) {
    let res = app.post(body).await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(json!(text)))
}

#[tokio::test]
async fn a_request_id_of_257_bytes_is_400_and_256_is_fine() {
    let (app, runs) = app().await;
    let long = "r".repeat(257);
    let (status, v) = post(&app, body_text(&long)).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"], "request_id_too_long");
    assert!(
        v["message"].as_str().unwrap().contains("request.requestId"),
        "{v}"
    );
    // The id is not repeated back.
    assert!(!v.to_string().contains(&long));
    assert_eq!(runs.get(), 0);

    // Multi-byte characters count in bytes: 129 × 2 bytes = 258.
    let (status, v) = post(&app, body_text(&"é".repeat(129))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("request_id_too_long"))
    );
    assert_eq!(runs.get(), 0);

    let prefix = unique("cap");
    let exact = format!("{prefix}{}", "r".repeat(256 - prefix.len()));
    assert_eq!(exact.len(), 256);
    let (status, v) = post(&app, body_text(&exact)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(runs.get(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_megabyte_request_id_is_refused_not_handled() {
    let mut cfg = test_config();
    cfg.server.body_limit_bytes = 2 * 1024 * 1024;
    let runs = Runs::default();
    let app = spawn_app(counting_skill(&runs, Duration::ZERO), cfg).await;
    let (status, v) = post(&app, body_text(&"x".repeat(1024 * 1024))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("request_id_too_long"))
    );
    assert_eq!(runs.get(), 0);
    app.stop().await;
}

/// Each body repeats one key; the error names its path.
#[tokio::test]
async fn a_key_repeated_anywhere_is_400_duplicate_field_and_nothing_is_handled() {
    let (app, runs) = app().await;
    let id = unique("dup");
    let good = body_text(&id);
    let id_field = format!(r#""requestId":"{id}""#);
    let cases = [
        // Two requestIds: the second would silently win and dodge dedup.
        (
            good.replacen(&id_field, &format!(r#"{id_field},"requestId":"other""#), 1),
            "request.requestId",
        ),
        // Two request types.
        (
            good.replacen(
                r#""type":"Messaging.MessageReceived""#,
                r#""type":"Messaging.MessageReceived","type":"LaunchRequest""#,
                1,
            ),
            "request.type",
        ),
        // Top level.
        (
            good.replacen(r#""version":1.0"#, r#""version":1.0,"version":1.0"#, 1),
            "version",
        ),
        // Deep inside context, in a field the endpoint does not even read.
        (
            good.replacen(r#""System":{"#, r#""System":{"extra":{"a":1,"a":2},"#, 1),
            "context.System.extra.a",
        ),
        // Inside the message blob, in an array.
        (
            good.replacen(
                r#""message":{"list":"shopping"}"#,
                r#""message":{"items":[{"v":1},{"v":2,"v":3}]}"#,
                1,
            ),
            "request.message.items.1.v",
        ),
        // The same key spelled with an escape.
        (
            good.replacen(
                &id_field,
                &format!(r#"{id_field},"request\u0049d":"other""#),
                1,
            ),
            "request.requestId",
        ),
    ];
    for (body, path) in cases {
        assert_ne!(body, good, "the case for {path} did not change the body");
        let (status, v) = post(&app, body.clone()).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(v["error"], "duplicate_field", "{path}: {v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(&format!("{path}:")), "{path}: {message}");
    }
    assert_eq!(runs.get(), 0, "a body with a repeated key was handled");

    // The same body without the repetition is handled (once).
    let (status, v) = post(&app, good).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(runs.get(), 1);
    app.stop().await;
}
