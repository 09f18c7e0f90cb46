//! Every Reminders API call: exact method, path, headers and JSON body; the
//! error statuses mapped; the token guard.

use alexa_endpoint::api::{
    ApiError, PushNotificationStatus, Recurrence, ReminderRequest, ReminderStatus, Trigger,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::api_support::*;

/// An alertToken with characters that must be percent-encoded in a path.
pub const ALERT: &str = "amzn1.alert.r+1/a=";

pub fn alert_path() -> String {
    format!("/v1/alerts/reminders/{}", enc(ALERT))
}

/// A weekly absolute reminder, in Amazon's JSON.
pub fn reminder_json() -> Value {
    json!({
        "requestTime": "2026-11-29T12:00:00.000",
        "trigger": {
            "type": "SCHEDULED_ABSOLUTE",
            "scheduledTime": "2026-11-30T09:00:00.000",
            "timeZoneId": "Europe/Berlin",
            "recurrence": {"freq": "WEEKLY", "byDay": ["MO"], "interval": 1}
        },
        "alertInfo": {"spokenInfo": {"content": [
            {"locale": "de-DE", "text": "Müll rausbringen", "ssml": "<speak>Müll rausbringen</speak>"}
        ]}},
        "pushNotification": {"status": "ENABLED"}
    })
}

pub fn reminder_request() -> ReminderRequest {
    serde_json::from_value(reminder_json()).expect("Amazon's shape parses")
}

/// What Alexa answers a create/update with.
pub fn summary(status: &str) -> Value {
    json!({
        "alertToken": ALERT, "createdTime": "2026-11-29T12:00:00.672Z",
        "updatedTime": "2026-11-29T12:00:00.672Z", "status": status,
        "version": "1", "href": format!("/v1/alerts/reminders/{ALERT}")
    })
}

/// What Alexa answers a GET of one reminder with.
pub fn full_reminder() -> Value {
    let mut v = summary("ON");
    let r = reminder_json();
    for k in ["trigger", "alertInfo", "pushNotification"] {
        v[k] = r[k].clone();
    }
    v
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A request without a body and without `Content-Type`.
pub fn no_body(req: &Request) -> bool {
    req.body.is_empty() && !req.headers.contains_key("content-type")
}

/// Method, path, `Authorization` and `Accept`.
pub fn call(verb: &str, p: String, token: &str) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(p))
        .and(header("authorization", bearer(token).as_str()))
        .and(header("accept", "application/json"))
}

#[tokio::test]
async fn list_is_a_bodiless_get() {
    let server = MockServer::start().await;
    call("GET", "/v1/alerts/reminders".into(), TOKEN)
        .and(no_body)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": "1", "alerts": [full_reminder()], "links": {"next": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let list = reminders_for(&server).list().await.expect("list");
    assert_eq!(list.total_count.as_deref(), Some("1"));
    assert_eq!(list.alerts.len(), 1);
    assert_eq!(list.alerts[0].alert_token, ALERT);
    assert_eq!(list.alerts[0].status, Some(ReminderStatus::On));
}

#[tokio::test]
async fn get_is_a_bodiless_get_of_the_encoded_token() {
    let server = MockServer::start().await;
    call("GET", alert_path(), TOKEN)
        .and(no_body)
        .respond_with(ResponseTemplate::new(200).set_body_json(full_reminder()))
        .expect(1)
        .mount(&server)
        .await;
    let r = reminders_for(&server).get(ALERT).await.expect("get");
    assert_eq!(r.alert_token, ALERT);
    match &r.trigger {
        Some(Trigger::ScheduledAbsolute {
            scheduled_time,
            recurrence: Some(Recurrence { by_day, .. }),
            ..
        }) => {
            assert_eq!(scheduled_time.as_deref(), Some("2026-11-30T09:00:00.000"));
            assert_eq!(by_day.as_deref(), Some(&["MO".to_owned()][..]));
        }
        other => panic!("{other:?}"),
    }
    let content = &r
        .alert_info
        .as_ref()
        .expect("alertInfo")
        .spoken_info
        .content;
    assert_eq!(content[0].locale, "de-DE");
    assert_eq!(content[0].text, "Müll rausbringen");
    assert_eq!(
        r.push_notification.map(|p| p.status),
        Some(PushNotificationStatus::Enabled)
    );
    // A GET answer is enough to build an update.
    let again = r.to_request().expect("full reminder");
    assert_eq!(again.trigger, reminder_request().trigger);
}

#[tokio::test]
async fn create_posts_amazons_json_and_a_201_is_success() {
    let server = MockServer::start().await;
    call("POST", "/v1/alerts/reminders".into(), TOKEN)
        .and(header("content-type", "application/json"))
        .and(body_json(reminder_json()))
        .respond_with(ResponseTemplate::new(201).set_body_json(summary("ON")))
        .expect(1)
        .mount(&server)
        .await;
    let r = reminders_for(&server)
        .create(&reminder_request())
        .await
        .expect("create");
    assert_eq!(r.alert_token, ALERT);
    assert_eq!(r.version.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_relative_reminder_is_sent_as_scheduled_relative() {
    let server = MockServer::start().await;
    let request = ReminderRequest::new(
        Trigger::ScheduledRelative {
            offset_in_seconds: 600,
            time_zone_id: None,
        },
        "en-US",
        "tea is ready",
    );
    let mut expected = serde_json::to_value(&request).expect("json");
    assert_eq!(
        expected["trigger"],
        json!({"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 600})
    );
    assert_eq!(
        expected["alertInfo"],
        json!({"spokenInfo": {"content": [{"locale": "en-US", "text": "tea is ready"}]}})
    );
    assert_eq!(expected["pushNotification"], json!({"status": "ENABLED"}));
    assert!(expected["requestTime"]
        .as_str()
        .is_some_and(|t| t.len() == 23));
    call("POST", "/v1/alerts/reminders".into(), TOKEN)
        .and(body_json(expected.take()))
        .respond_with(ResponseTemplate::new(201).set_body_json(summary("ON")))
        .expect(1)
        .mount(&server)
        .await;
    reminders_for(&server)
        .create(&request)
        .await
        .expect("create");
}

#[tokio::test]
async fn update_puts_the_request_on_the_encoded_token() {
    let server = MockServer::start().await;
    call("PUT", alert_path(), TOKEN)
        .and(header("content-type", "application/json"))
        .and(body_json(reminder_json()))
        .respond_with(ResponseTemplate::new(200).set_body_json(summary("ON")))
        .expect(1)
        .mount(&server)
        .await;
    let r = reminders_for(&server)
        .update(ALERT, &reminder_request())
        .await
        .expect("update");
    assert_eq!(r.alert_token, ALERT);
}

#[tokio::test]
async fn delete_is_a_bodiless_delete_and_any_2xx_is_success() {
    let server = MockServer::start().await;
    call("DELETE", alert_path(), TOKEN)
        .and(no_body)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    reminders_for(&server).delete(ALERT).await.expect("delete");
}

#[tokio::test]
async fn an_empty_id_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let client = reminders_for(&server);
    assert!(matches!(
        client.get("").await,
        Err(ApiError::InvalidInput(_))
    ));
    assert!(matches!(
        client.delete("").await,
        Err(ApiError::InvalidInput(_))
    ));
}

/// The error a GET of one reminder answered with `response` maps to; the
/// client has no time to retry, so exactly one call is made.
async fn get_error(response: ResponseTemplate) -> ApiError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(alert_path()))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    reminders_for(&server)
        .with_deadline(no_time_to_retry())
        .get(ALERT)
        .await
        .expect_err("an error status")
}

fn message(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"code": "X", "message": text}))
}

#[tokio::test]
async fn statuses_map_to_typed_errors() {
    let e = get_error(message(401, "Unauthorized")).await;
    assert!(matches!(&e, ApiError::Unauthorized { message } if message == "Unauthorized"));
    assert!(e.is_permission_denied() && !e.is_transient());

    let e = get_error(message(403, "Permission not granted")).await;
    assert!(matches!(&e, ApiError::Forbidden { message } if message == "Permission not granted"));
    assert!(e.is_permission_denied() && !e.is_transient());

    let e = get_error(message(404, "Alert not found")).await;
    assert!(matches!(&e, ApiError::NotFound { message } if message == "Alert not found"));
    assert!(e.is_not_found() && !e.is_permission_denied());

    let e = get_error(message(429, "Too many requests").insert_header("Retry-After", "30")).await;
    assert!(
        matches!(&e, ApiError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 30),
        "{e:?}"
    );
    assert!(e.is_transient());

    for status in [500, 503] {
        let e = get_error(message(status, "Internal")).await;
        assert!(
            matches!(&e, ApiError::Server { status: s, .. } if *s == status),
            "{e:?}"
        );
        assert!(e.is_transient());
    }
}

#[tokio::test]
async fn the_observer_sees_reminders_calls() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let (observer, calls) = recorder();
    let client = api_for(&server)
        .with_observer(observer)
        .reminders(&server.uri(), SecretString::from(TOKEN))
        .expect("client");
    assert!(client.delete(ALERT).await.is_err());
    assert_eq!(*calls.lock().expect("lock"), [("reminders", 404)]);
}

#[tokio::test]
async fn the_token_never_goes_to_a_foreign_endpoint() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("nothing may reach the mock")
        .mount(&server)
        .await;
    let api = api_for(&server);
    let uri = server.uri();
    let port = server.address().port();
    for endpoint in [
        "https://evil.example".to_owned(),
        format!("http://localhost:{port}"),
        format!("{uri}/v1"),
        format!("{uri}@evil.example"),
        uri.to_uppercase(),
    ] {
        match api.reminders(&endpoint, SecretString::from(TOKEN)) {
            Err(ApiError::EndpointNotAllowed(e)) => assert_eq!(e, endpoint),
            other => panic!("{endpoint}: {other:?}"),
        }
    }
    assert!(matches!(
        api.reminders(&uri, SecretString::from("")),
        Err(ApiError::NoToken)
    ));
    let client = reminders_for(&server);
    assert!(!format!("{client:?}").contains("SECRET"));
}
