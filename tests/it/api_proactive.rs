//! The Proactive Events client: Login with Amazon token for
//! `alexa::proactive_events` (exact form, shared cache), then the event POST
//! with the Bearer token, per audience and stage.

use std::collections::BTreeMap;
use std::time::Duration;

use alexa_endpoint::api::{
    build_http_client, ApiError, Audience, LwaClient, ProactiveEvent, ProactiveEventsClient, Stage,
    PROACTIVE_EVENTS_SCOPE,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const CLIENT_ID: &str = "amzn1.application-oa2-client.proactive";
pub const CLIENT_SECRET: &str = "proactive-SECRET/+=";
pub const USER: &str = "amzn1.ask.account.PROACTIVEUSER";

/// The form a token request carried.
pub fn form(req: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

/// Matches the exact token form for the proactive events scope.
pub fn proactive_token_form(id: &'static str, secret: &'static str) -> impl Fn(&Request) -> bool {
    move |req: &Request| {
        let expected: BTreeMap<String, String> = [
            ("grant_type", "client_credentials"),
            ("scope", "alexa::proactive_events"),
            ("client_id", id),
            ("client_secret", secret),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        form(req) == expected
    }
}

pub fn token_response(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token, "expires_in": 3600,
        "scope": "alexa::proactive_events", "token_type": "bearer"
    }))
}

/// Mount the token endpoint, expected `times` times with the exact form.
pub async fn mount_token(
    server: &MockServer,
    id: &'static str,
    secret: &'static str,
    token: &str,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(proactive_token_form(id, secret))
        .respond_with(token_response(token))
        .expect(times)
        .mount(server)
        .await;
}

/// A message alert event with every field given.
pub fn full_event() -> Value {
    json!({
        "timestamp": "2026-11-29T12:00:00Z",
        "referenceId": "ref-0001",
        "expiryTime": "2026-11-29T13:00:00Z",
        "event": {
            "name": "AMAZON.MessageAlert.Activated",
            "payload": {
                "state": {"status": "UNREAD", "freshness": "NEW"},
                "messageGroup": {"creator": {"name": "Andy"}, "count": 5, "urgency": "URGENT"}
            }
        },
        "localizedAttributes": [{"locale": "en-US", "source": "the app"}]
    })
}

fn with_audience(mut event: Value, audience: Value) -> Value {
    event["relevantAudience"] = audience;
    event
}

fn client(server: &MockServer) -> ProactiveEventsClient {
    let http = build_http_client(Duration::from_secs(2)).expect("http");
    let lwa = LwaClient::new(
        http.clone(),
        format!("{}/auth/o2/token", server.uri()),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
    );
    ProactiveEventsClient::new(lwa, &server.uri(), http).expect("client")
}

fn event(v: Value) -> ProactiveEvent {
    serde_json::from_value(v).expect("event")
}

#[tokio::test]
async fn unicast_to_development_then_multicast_live_with_one_token() {
    let server = MockServer::start().await;
    mount_token(&server, CLIENT_ID, CLIENT_SECRET, "Atc|proactive", 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/proactiveEvents/stages/development"))
        .and(header("authorization", "Bearer Atc|proactive"))
        .and(header("content-type", "application/json"))
        .and(body_json(with_audience(
            full_event(),
            json!({"type": "Unicast", "payload": {"user": USER}}),
        )))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/proactiveEvents"))
        .and(header("authorization", "Bearer Atc|proactive"))
        .and(body_json(with_audience(
            full_event(),
            json!({"type": "Multicast", "payload": {}}),
        )))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.lwa().scope(), PROACTIVE_EVENTS_SCOPE);
    let sent = client
        .send(
            &event(full_event()),
            Audience::Unicast { user: USER.into() },
            Stage::Development,
        )
        .await
        .expect("unicast");
    assert_eq!(sent.reference_id.as_deref(), Some("ref-0001"));
    // A clone shares the cached token: still one token request.
    client
        .clone()
        .send(&event(full_event()), Audience::Multicast, Stage::Live)
        .await
        .expect("multicast");
}

#[tokio::test]
async fn absent_timestamp_reference_and_expiry_are_filled() {
    let server = MockServer::start().await;
    mount_token(&server, CLIENT_ID, CLIENT_SECRET, "Atc|p", 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/proactiveEvents/stages/development"))
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            ["timestamp", "referenceId", "expiryTime"]
                .iter()
                .all(|k| body[k].as_str().is_some_and(|s| !s.is_empty()))
                && body["event"] == full_event()["event"]
        })
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let mut bare = full_event();
    for k in ["timestamp", "referenceId", "expiryTime"] {
        bare.as_object_mut().unwrap().remove(k);
    }
    let sent = client(&server)
        .send(
            &event(bare),
            Audience::Unicast { user: USER.into() },
            Stage::Development,
        )
        .await
        .expect("sent");
    assert!(sent.reference_id.is_some() && sent.expiry_time.is_some());
}

#[tokio::test]
async fn a_401_drops_the_cached_token_and_403_400_are_typed() {
    let server = MockServer::start().await;
    mount_token(&server, CLIENT_ID, CLIENT_SECRET, "Atc|p", 2).await;
    for (status, message) in [
        (401, "Invalid token"),
        (403, "No permission"),
        (400, "Bad event"),
    ] {
        Mock::given(method("POST"))
            .and(path("/v1/proactiveEvents"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message": message})))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let the_event = event(full_event());
    let send = || client.send(&the_event, Audience::Multicast, Stage::Live);
    let e = send().await.expect_err("401");
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
    let e = send().await.expect_err("403");
    assert!(
        matches!(&e, ApiError::Forbidden { message } if message == "No permission"),
        "{e:?}"
    );
    let e = send().await.expect_err("400");
    assert!(
        matches!(&e, ApiError::UnexpectedStatus { status: 400, message } if message == "Bad event"),
        "{e:?}"
    );
    assert!(!format!("{client:?}").contains("SECRET"));
}

#[tokio::test]
async fn an_event_without_a_name_or_user_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut nameless = full_event();
    nameless["event"]["name"] = "".into();
    assert!(matches!(
        client
            .send(&event(nameless), Audience::Multicast, Stage::Live)
            .await,
        Err(ApiError::InvalidInput(_))
    ));
    assert!(matches!(
        client
            .send(
                &event(full_event()),
                Audience::Unicast { user: " ".into() },
                Stage::Live
            )
            .await,
        Err(ApiError::InvalidInput(_))
    ));
}
