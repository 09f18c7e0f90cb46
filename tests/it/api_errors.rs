//! Every error status maps to its variant, with the API's own message;
//! timeouts and transport failures too; no token in any Debug or message.

use std::time::Duration;

use alexa_endpoint::api::{AlexaApi, ApiError, ItemStatus};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_support::*;

/// The error a `GET /v2/householdlists/` answered with `response` maps to.
async fn metadata_error(response: ResponseTemplate) -> ApiError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    // A client with no time to retry: this test is about the mapping of one
    // answer (retries are api_retries.rs).
    lists_for(&server)
        .with_deadline(no_time_to_retry())
        .lists_metadata()
        .await
        .expect_err("an error status")
}

fn with_message(status: u16, key: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "type": "ERROR", key: message }))
}

#[tokio::test]
async fn status_401_is_unauthorized() {
    let e = metadata_error(with_message(401, "message", "Request is not authorized.")).await;
    assert!(
        matches!(&e, ApiError::Unauthorized { message } if message == "Request is not authorized."),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(e.status(), Some(401));
}

#[tokio::test]
async fn status_403_with_capital_m_message_is_forbidden_with_a_hint() {
    let e = metadata_error(
        ResponseTemplate::new(403).set_body_json(json!({"Message": "Request is not authorized."})),
    )
    .await;
    assert!(
        matches!(&e, ApiError::Forbidden { message } if message == "Request is not authorized."),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(shown.contains("Request is not authorized."), "{shown}");
    assert!(shown.contains("not granted"), "{shown}");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn status_404_is_not_found() {
    let e = metadata_error(with_message(404, "message", "List not found")).await;
    assert!(
        matches!(&e, ApiError::NotFound { message } if message == "List not found"),
        "{e:?}"
    );
}

#[tokio::test]
async fn status_409_on_update_is_conflict() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(with_message(409, "message", "Version mismatch"))
        .expect(1)
        .mount(&server)
        .await;
    let e = lists_for(&server)
        .update_item("l", "i", "milk", ItemStatus::Completed, 1)
        .await
        .expect_err("conflict");
    assert!(
        matches!(&e, ApiError::Conflict { message } if message == "Version mismatch"),
        "{e:?}"
    );
    assert!(!e.is_transient());
}

#[tokio::test]
async fn status_429_is_rate_limited_with_retry_after() {
    let e = metadata_error(
        with_message(429, "message", "Too many requests").insert_header("Retry-After", "7"),
    )
    .await;
    assert!(
        matches!(&e, ApiError::RateLimited { retry_after: Some(d), message }
            if *d == Duration::from_secs(7) && message == "Too many requests"),
        "{e:?}"
    );
    assert!(e.is_transient());
    let e = metadata_error(ResponseTemplate::new(429)).await;
    assert!(
        matches!(
            &e,
            ApiError::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn status_5xx_is_server_and_transient() {
    for status in [500, 503] {
        let e = metadata_error(with_message(status, "message", "Internal error")).await;
        assert!(
            matches!(&e, ApiError::Server { status: s, message } if *s == status && message == "Internal error"),
            "{e:?}"
        );
        assert!(e.is_transient());
    }
}

#[tokio::test]
async fn other_statuses_are_unexpected_and_a_bodiless_error_gets_the_reason() {
    let e = metadata_error(ResponseTemplate::new(400)).await;
    assert!(
        matches!(&e, ApiError::UnexpectedStatus { status: 400, message } if message == "Bad Request"),
        "{e:?}"
    );
    let e = metadata_error(
        ResponseTemplate::new(302).insert_header("Location", "https://evil.example/"),
    )
    .await;
    assert!(
        matches!(&e, ApiError::UnexpectedStatus { status: 302, .. }),
        "redirects are not followed: {e:?}"
    );
}

#[tokio::test]
async fn a_success_with_a_wrong_body_is_decode() {
    let e =
        metadata_error(ResponseTemplate::new(200).set_body_json(json!({"lists": [{"name": 1}]})))
            .await;
    assert!(
        matches!(&e, ApiError::Decode(m) if m.contains("lists")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_slow_answer_is_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let (observer, calls) = recorder();
    let api = AlexaApi::new(&config(&[&server.uri()], 200))
        .expect("api")
        .with_observer(observer);
    let client = api
        .lists(&server.uri(), SecretString::from(TOKEN))
        .expect("client")
        .with_deadline(no_time_to_retry());
    // The mock answers 200 after 3 s: only the 200 ms timeout makes this an error.
    let e = client.lists_metadata().await.expect_err("timeout");
    assert!(matches!(e, ApiError::Timeout), "{e:?}");
    assert!(e.is_transient());
    assert_eq!(*calls.lock().expect("lock"), [("lists", 0)]);
}

#[tokio::test]
async fn a_closed_port_is_transport() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let api = AlexaApi::new(&config(&[&endpoint], 2000)).expect("api");
    let e = api
        .lists(&endpoint, SecretString::from(TOKEN))
        .expect("client")
        .with_deadline(no_time_to_retry())
        .lists_metadata()
        .await
        .expect_err("closed port");
    assert!(matches!(&e, ApiError::Transport(_)), "{e:?}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn no_debug_or_message_shows_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(with_message(401, "message", "bad token"))
        .mount(&server)
        .await;
    let api = api_for(&server);
    let client = api
        .lists(&server.uri(), SecretString::from(TOKEN))
        .expect("client");
    let e = client.lists_metadata().await.expect_err("401");
    for shown in [
        format!("{api:?}"),
        format!("{client:?}"),
        format!("{e:?}"),
        e.to_string(),
    ] {
        assert!(!shown.contains("SECRET"), "token leaked: {shown}");
    }
}
