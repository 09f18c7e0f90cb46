//! 429 / 5xx retries, in one place for every Alexa API client: through the
//! real server (a handler's deadline bounds them) and from the sender
//! clients (Skill Messaging, Login with Amazon).

use std::time::Duration;

use alexa_endpoint::api::{build_http_client, ApiError, LwaClient, SkillMessagingClient};
use alexa_endpoint::config::HandlerKind;
use alexa_endpoint::handlers::skill_from_config;
use secrecy::SecretString;
use serde_json::json;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_reminders::{alert_path, full_reminder, summary};
use crate::api_support::*;
use crate::reminders_server::{
    config_for, intent_body, message_for, reminders_app, reminders_app_with,
};
use crate::support::helpers::*;

const REMINDERS: &str = "/v1/alerts/reminders";

fn rate_limited(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .set_body_json(json!({"message": "Too many requests"}))
}

/// An HTTP date (IMF-fixdate) `secs` from now.
fn http_date_in(secs: i64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    (OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(format)
        .unwrap()
}

/// Mount `first` for the first `n` calls of `verb path`, then `then`.
async fn mount_sequence(
    api: &MockServer,
    verb: &str,
    p: &str,
    first: ResponseTemplate,
    n: u64,
    then: Option<ResponseTemplate>,
) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(first)
        .up_to_n_times(n)
        .expect(n)
        .named(format!("{verb} {p}: the failing answers"))
        .mount(api)
        .await;
    if let Some(then) = then {
        Mock::given(method(verb))
            .and(path(p))
            .respond_with(then)
            .expect(1)
            .named(format!("{verb} {p}: the answer after the retries"))
            .mount(api)
            .await;
    }
}

/// The handler failed by itself with a transient error (503) instead of
/// waiting for a retry until the pipeline's deadline (also 503, counted as
/// `deadline`), and no retry was made.
async fn assert_failed_at_once(app: &TestApp) {
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert_eq!(retries_metric(&metrics, "reminders"), None, "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"alexa_endpoint_handler_errors_total{kind="handler_unavailable"} 1"#),
        "{metrics}"
    );
    assert!(
        !metrics.contains(r#"kind="handler_deadline_exceeded""#),
        "{metrics}"
    );
}

fn retries_metric(metrics: &str, api: &str) -> Option<u64> {
    let series = format!("alexa_endpoint_api_retries_total{{api=\"{api}\"}}");
    metric_value(metrics, &series).map(|v| v as u64)
}

#[tokio::test]
async fn a_429_with_retry_after_1_then_201_succeeds_after_exactly_two_calls() {
    let api = MockServer::start().await;
    mount_sequence(
        &api,
        "POST",
        REMINDERS,
        rate_limited("1"),
        1,
        Some(ResponseTemplate::new(201).set_body_json(summary("ON"))),
    )
    .await;
    let app = reminders_app(&api).await;
    let res = app.post(intent_body("create", &api.uri())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(api.received_requests().await.unwrap().len(), 2);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert_eq!(retries_metric(&metrics, "reminders"), Some(1), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"alexa_endpoint_alexa_api_calls_total{api="reminders",status="429"} 1"#),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_fails_at_once_with_503() {
    let api = MockServer::start().await;
    mount_sequence(&api, "POST", REMINDERS, rate_limited("3600"), 1, None).await;
    let app = reminders_app(&api).await;
    let res = app.post(intent_body("create", &api.uri())).await;
    assert_eq!(res.status(), 503);
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    assert_failed_at_once(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_message_is_not_acknowledged_when_the_retry_after_is_past_the_deadline() {
    let api = MockServer::start().await;
    // The deadline is 7 s; Alexa asks for 60.
    mount_sequence(&api, "PUT", &alert_path(), rate_limited("60"), 1, None).await;
    let app = reminders_app(&api).await;
    let res = app.post(message_for("update", &api.uri())).await;
    assert_eq!(res.status(), 503);
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    assert_failed_at_once(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_5xx_twice_then_success_is_three_calls() {
    let api = MockServer::start().await;
    mount_sequence(
        &api,
        "GET",
        REMINDERS,
        ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})),
        2,
        Some(ResponseTemplate::new(200).set_body_json(json!({"alerts": [full_reminder()]}))),
    )
    .await;
    let app = reminders_app(&api).await;
    let res = app.post(message_for("list", &api.uri())).await;
    assert_eq!(res.status(), 200);
    assert_eq!(api.received_requests().await.unwrap().len(), 3);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert_eq!(retries_metric(&metrics, "reminders"), Some(2), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn an_http_date_retry_after_is_honoured() {
    let api = MockServer::start().await;
    mount_sequence(
        &api,
        "PUT",
        &alert_path(),
        rate_limited(&http_date_in(1)),
        1,
        Some(ResponseTemplate::new(200).set_body_json(summary("ON"))),
    )
    .await;
    let app = reminders_app(&api).await;
    assert_eq!(
        app.post(message_for("update", &api.uri())).await.status(),
        200
    );
    assert_eq!(api.received_requests().await.unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn an_http_date_retry_after_past_the_deadline_fails_at_once() {
    let api = MockServer::start().await;
    mount_sequence(
        &api,
        "GET",
        &alert_path(),
        rate_limited(&http_date_in(3600)),
        1,
        None,
    )
    .await;
    let app = reminders_app(&api).await;
    assert_eq!(app.post(intent_body("get", &api.uri())).await.status(), 503);
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    assert_failed_at_once(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_400_is_never_retried() {
    let api = MockServer::start().await;
    mount_sequence(
        &api,
        "DELETE",
        &alert_path(),
        ResponseTemplate::new(400).set_body_json(json!({"message": "Invalid alertToken"})),
        1,
        None,
    )
    .await;
    let app = reminders_app(&api).await;
    assert_eq!(
        app.post(message_for("delete", &api.uri())).await.status(),
        500
    );
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert_eq!(retries_metric(&metrics, "reminders"), None, "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn a_create_is_not_retried_after_a_500_but_an_update_is() {
    let api = MockServer::start().await;
    // A 500 may mean the reminder was created: a second POST could make two.
    mount_sequence(&api, "POST", REMINDERS, ResponseTemplate::new(500), 1, None).await;
    // A PUT is idempotent: retried.
    mount_sequence(
        &api,
        "PUT",
        &alert_path(),
        ResponseTemplate::new(502),
        1,
        Some(ResponseTemplate::new(200).set_body_json(summary("ON"))),
    )
    .await;
    let app = reminders_app(&api).await;
    assert_eq!(
        app.post(intent_body("create", &api.uri())).await.status(),
        503
    );
    assert_eq!(
        app.post(intent_body("update", &api.uri())).await.status(),
        200
    );
    assert_eq!(api.received_requests().await.unwrap().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_timeout_is_retried_for_a_get_but_not_for_a_create() {
    let api = MockServer::start().await;
    let slow = || ResponseTemplate::new(200).set_delay(Duration::from_secs(2));
    mount_sequence(&api, "POST", REMINDERS, slow(), 1, None).await;
    mount_sequence(
        &api,
        "GET",
        &alert_path(),
        slow(),
        1,
        Some(ResponseTemplate::new(200).set_body_json(full_reminder())),
    )
    .await;
    let mut cfg = config_for(&api);
    cfg.alexa_api.timeout = std::time::Duration::from_millis(300);
    let app = reminders_app_with(cfg).await;
    // The POST may have been processed: not sent again.
    assert_eq!(
        app.post(intent_body("create", &api.uri())).await.status(),
        503
    );
    assert_eq!(app.post(intent_body("get", &api.uri())).await.status(), 200);
    let received = api.received_requests().await.unwrap();
    let posts = received
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    let gets = received
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!((posts, gets), (1, 2));
    app.stop().await;
}

#[tokio::test]
async fn list_sync_inherits_the_retries() {
    let api = MockServer::start().await;
    mount_sequence(
        &api,
        "GET",
        "/v2/householdlists/",
        rate_limited("1"),
        1,
        Some(ResponseTemplate::new(200).set_body_json(metadata_body())),
    )
    .await;
    let id = shopping_id();
    Mock::given(method("GET"))
        .and(path(format!("/v2/householdlists/{}/active", enc(&id))))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_body(&id, "x", vec![])))
        .mount(&api)
        .await;
    mount_sequence(
        &api,
        "POST",
        &format!("/v2/householdlists/{}/items", enc(&id)),
        ResponseTemplate::new(503),
        1,
        Some(ResponseTemplate::new(201).set_body_json(item("n1", "milk", "active", 1))),
    )
    .await;
    let mut cfg = config_for(&api);
    cfg.handler.kind = HandlerKind::ListSync;
    let app = spawn_app(skill_from_config(&cfg).unwrap(), cfg).await;
    let mut v: serde_json::Value = serde_json::from_slice(&message_body(
        &unique("ls-retry"),
        json!({"list": "shopping", "add": ["milk"]}),
    ))
    .unwrap();
    v["context"]["System"]["apiEndpoint"] = api.uri().into();
    v["context"]["System"]["apiAccessToken"] = "Atza|ls".into();
    let res = app.post(serde_json::to_vec(&v).unwrap()).await;
    assert_eq!(res.status(), 200);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert_eq!(retries_metric(&metrics, "lists"), Some(2), "{metrics}");
    app.stop().await;
}

fn token_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": "Atc|retried", "expires_in": 3600, "token_type": "bearer"
    }))
}

#[tokio::test]
async fn lwa_and_skill_messaging_retry_what_is_safe() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "POST",
        "/auth/o2/token",
        ResponseTemplate::new(503),
        1,
        Some(token_ok()),
    )
    .await;
    let user = "amzn1.ask.account.RETRY";
    let messages = format!("/v1/skillmessages/users/{user}");
    // A 429 means "not taken": safe to send again. A 500 may mean "taken":
    // a send is not repeated.
    Mock::given(method("POST"))
        .and(path(messages.as_str()))
        .respond_with(rate_limited("0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(messages.as_str()))
        .respond_with(ResponseTemplate::new(202))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(messages.as_str()))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let (observer, retries) = {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let observer: alexa_endpoint::api::RetryObserver =
            std::sync::Arc::new(move |api| sink.lock().unwrap().push(api));
        (observer, seen)
    };
    let http = build_http_client(Duration::from_secs(2)).unwrap();
    let lwa = LwaClient::new(
        http.clone(),
        format!("{}/auth/o2/token", server.uri()),
        "id",
        SecretString::from("SECRET"),
    )
    .with_retry_observer(observer.clone());
    let client = SkillMessagingClient::new(lwa, &server.uri(), http)
        .unwrap()
        .with_retry_observer(observer);
    client
        .send(user, &json!({"a": 1}), 3600)
        .await
        .expect("sent after a 503 token answer and a 429");
    let e = client
        .send(user, &json!({"a": 2}), 3600)
        .await
        .expect_err("500");
    assert!(matches!(e, ApiError::Server { status: 500, .. }), "{e:?}");
    assert_eq!(*retries.lock().unwrap(), ["lwa", "skill_messaging"]);
}

#[tokio::test]
async fn a_call_beyond_the_in_flight_bound_fails_as_saturated_without_being_sent() {
    use alexa_endpoint::api::{AlexaApi, MAX_IN_FLIGHT_CALLS};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(REMINDERS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"alerts": []}))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let api = AlexaApi::new(&config(&[&server.uri()], 5000)).unwrap();
    let client = api
        .reminders(&server.uri(), SecretString::from(TOKEN))
        .unwrap();
    let busy: Vec<_> = (0..MAX_IN_FLIGHT_CALLS)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list().await })
        })
        .collect();
    wait_for_requests(
        "every bounded call reaching the API",
        &server,
        MAX_IN_FLIGHT_CALLS,
        Duration::from_secs(10),
    )
    .await;
    let e = client
        .clone()
        .with_deadline(no_time_to_retry())
        .list()
        .await
        .expect_err("no slot");
    assert!(matches!(e, ApiError::Saturated), "{e:?}");
    assert!(e.is_transient());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        MAX_IN_FLIGHT_CALLS
    );
    for call in busy {
        call.await
            .unwrap()
            .expect("the calls within the bound complete");
    }
}
