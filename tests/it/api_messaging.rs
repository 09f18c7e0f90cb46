//! Login with Amazon tokens (exact form, caching, single flight) and the
//! Skill Messaging API.

use std::time::Duration;

use alexa_endpoint::api::{build_http_client, ApiError, LwaClient, SkillMessagingClient};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_support::*;

const CLIENT_ID: &str = "amzn1.application-oa2-client.0123abcd";
const CLIENT_SECRET: &str = "client-SECRET-value/with+chars";
const USER: &str = "amzn1.ask.account.AFX3EXAMPLE";

/// The exact form Login with Amazon receives.
fn token_form() -> String {
    "grant_type=client_credentials&scope=alexa%3Askill_messaging\
     &client_id=amzn1.application-oa2-client.0123abcd\
     &client_secret=client-SECRET-value%2Fwith%2Bchars"
        .to_owned()
}

fn token_response(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token, "expires_in": expires_in,
        "scope": "alexa:skill_messaging", "token_type": "bearer"
    }))
}

/// Mount a token endpoint answering `token`, expected `times` times.
async fn mount_lwa(server: &MockServer, token: &str, expires_in: u64, times: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(token_form()))
        .respond_with(token_response(token, expires_in))
        .expect(times)
        .mount(server)
        .await;
}

fn client(server: &MockServer) -> SkillMessagingClient {
    let http = build_http_client(Duration::from_secs(2)).expect("http");
    let lwa = LwaClient::new(
        http.clone(),
        format!("{}/auth/o2/token", server.uri()),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
    );
    SkillMessagingClient::new(lwa, &server.uri(), http).expect("client")
}

fn message_path(user: &str) -> String {
    format!("/v1/skillmessages/users/{}", enc(user))
}

#[tokio::test]
async fn send_posts_data_and_expiry_with_the_lwa_token() {
    let server = MockServer::start().await;
    mount_lwa(&server, "Atc|lwa-token-1", 3600, 1).await;
    let data = json!({"list": "shopping", "add": ["milk"]});
    Mock::given(method("POST"))
        .and(path(message_path(USER)))
        .and(header("authorization", "Bearer Atc|lwa-token-1"))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(body_json(json!({"data": data, "expiresAfterSeconds": 600})))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .send(USER, &data, 600)
        .await
        .expect("accepted");
}

#[tokio::test]
async fn the_user_id_is_percent_encoded() {
    let server = MockServer::start().await;
    mount_lwa(&server, "t", 3600, 1).await;
    Mock::given(method("POST"))
        .and(path(
            "/v1/skillmessages/users/amzn1.ask.account.A%2FB%2BC%3D",
        ))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .send("amzn1.ask.account.A/B+C=", &json!({}), 3600)
        .await
        .expect("accepted");
}

#[tokio::test]
async fn ten_sends_use_one_token() {
    let server = MockServer::start().await;
    mount_lwa(&server, "cached", 3600, 1).await;
    Mock::given(method("POST"))
        .and(path(message_path(USER)))
        .and(header("authorization", "Bearer cached"))
        .respond_with(ResponseTemplate::new(202))
        .expect(10)
        .mount(&server)
        .await;
    let client = client(&server);
    for _ in 0..10 {
        client
            .send(USER, &json!({"n": 1}), 3600)
            .await
            .expect("sent");
    }
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    let server = MockServer::start().await;
    // expires_in 60 = the refresh margin: stale as soon as it arrives.
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(body_string(token_form()))
        .respond_with(token_response("first", 60))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_lwa(&server, "second", 3600, 1).await;
    for token in ["first", "second"] {
        Mock::given(method("POST"))
            .and(path(message_path(USER)))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    client.send(USER, &json!({}), 3600).await.expect("first");
    client.send(USER, &json!({}), 3600).await.expect("second");
}

#[tokio::test]
async fn twenty_concurrent_sends_share_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(body_string(token_form()))
        .respond_with(token_response("shared", 3600).set_delay(Duration::from_millis(300)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(message_path(USER)))
        .and(header("authorization", "Bearer shared"))
        .respond_with(ResponseTemplate::new(202))
        .expect(20)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = client.clone();
        tasks.spawn(async move { client.send(USER, &json!({ "i": i }), 3600).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("sent");
    }
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);
    let big = json!({ "blob": "x".repeat(6200) });
    for (data, expires) in [
        (json!({}), 59),
        (json!({}), 86_401),
        (json!([1]), 3600),
        (json!("text"), 3600),
        (big, 3600),
    ] {
        let e = client
            .send(USER, &data, expires)
            .await
            .expect_err("invalid");
        assert!(matches!(e, ApiError::InvalidInput(_)), "{e:?}");
    }
    let e = client
        .send(" ", &json!({}), 3600)
        .await
        .expect_err("no user");
    assert!(matches!(e, ApiError::InvalidInput(_)), "{e:?}");
}

#[tokio::test]
async fn a_403_is_forbidden_with_the_api_message() {
    let server = MockServer::start().await;
    mount_lwa(&server, "t", 3600, 1).await;
    Mock::given(method("POST"))
        .and(path(message_path(USER)))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "The skill is not allowed to send messages."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .send(USER, &json!({}), 3600)
        .await
        .expect_err("403");
    assert!(
        matches!(&e, ApiError::Forbidden { message } if message == "The skill is not allowed to send messages."),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_401_drops_the_cached_token() {
    let server = MockServer::start().await;
    mount_lwa(&server, "t", 3600, 2).await;
    Mock::given(method("POST"))
        .and(path(message_path(USER)))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Invalid token"})))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    for _ in 0..2 {
        let e = client.send(USER, &json!({}), 3600).await.expect_err("401");
        assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn a_refused_token_request_is_typed_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(message_path(USER)))
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;
    let e = client(&server)
        .send(USER, &json!({}), 3600)
        .await
        .expect_err("no token");
    assert!(
        matches!(&e, ApiError::Unauthorized { message } if message == "Client authentication failed"),
        "{e:?}"
    );
}

#[tokio::test]
async fn no_debug_shows_the_secret_or_the_token() {
    let server = MockServer::start().await;
    mount_lwa(&server, "Atc|SECRET-token", 3600, 1).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let client = client(&server);
    client.send(USER, &json!({}), 3600).await.expect("sent");
    for shown in [format!("{client:?}"), format!("{:?}", client.lwa())] {
        assert!(!shown.contains("SECRET"), "leaked: {shown}");
    }
}
