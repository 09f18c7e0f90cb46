//! The Reminders client from real handlers through the real server: in
//! session (an `IntentRequest`) and out of session (`MessageReceived`).

use alexa_endpoint::api::{ApiError, RemindersClient};
use alexa_endpoint::config::Config;
use alexa_endpoint::envelope::{IntentRequest, MessageReceivedRequest};
use alexa_endpoint::{HandlerResult, RequestContext, Response, Skill};
use serde_json::{json, Value};
use wiremock::matchers::{any, body_json, header};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_reminders::{
    alert_path, call, full_reminder, no_body, reminder_json, reminder_request, summary, ALERT,
};
use crate::api_support::handler_error;
use crate::support::helpers::*;

/// The `apiAccessToken` of the requests these tests post.
pub const REQUEST_TOKEN: &str = "Atza|reminders-request-token";

/// Every Reminders call the test handlers make.
pub const OPS: [&str; 5] = ["list", "get", "create", "update", "delete"];

/// One Reminders call by name; the answer is a short text.
async fn run_op(client: RemindersClient, op: &str) -> Result<String, ApiError> {
    match op {
        "list" => Ok(format!("{} reminders", client.list().await?.alerts.len())),
        "get" => Ok(format!("got {}", client.get(ALERT).await?.alert_token)),
        "create" => Ok(format!(
            "created {}",
            client.create(&reminder_request()).await?.alert_token
        )),
        "update" => Ok(format!(
            "updated {}",
            client.update(ALERT, &reminder_request()).await?.alert_token
        )),
        "delete" => client.delete(ALERT).await.map(|()| "deleted".to_owned()),
        other => Err(ApiError::InvalidInput(format!("no op {other}"))),
    }
}

/// In session: the op comes from the `op` slot; a missing permission is
/// answered with speech asking for it.
async fn on_intent(ctx: RequestContext, req: IntentRequest) -> HandlerResult {
    let op = req.intent.slot_value("op").unwrap_or("list").to_owned();
    let client = ctx.reminders().map_err(handler_error)?;
    match run_op(client, &op).await {
        Ok(text) => Ok(Response::builder().speak(text).build()),
        Err(e) if e.is_permission_denied() => Ok(Response::builder()
            .speak("Please grant reminders permission in the Alexa app.")
            .build()),
        Err(e) => Err(handler_error(e)),
    }
}

/// Out of session: the op comes from the message; what can never succeed
/// (no permission, reminder gone, foreign endpoint) is acknowledged.
async fn on_message(ctx: RequestContext, msg: MessageReceivedRequest) -> HandlerResult {
    let op = msg.message["op"].as_str().unwrap_or("list").to_owned();
    let client = match ctx.reminders() {
        Ok(client) => client,
        Err(e) => return Ok(Response::reject_message(e.to_string())),
    };
    match run_op(client, &op).await {
        Ok(_) => Ok(Response::ack()),
        Err(e) if e.is_permission_denied() || e.is_not_found() => {
            Ok(Response::reject_message(e.to_string()))
        }
        Err(e) => Err(handler_error(e)),
    }
}

pub fn reminders_skill() -> Skill {
    Skill::builder()
        .on_intent("ReminderIntent", on_intent)
        .on_message(on_message)
        .build()
}

/// A config that allows only `api`.
pub fn config_for(api: &MockServer) -> Config {
    let mut cfg = test_config();
    cfg.alexa_api.allowed_endpoints = vec![api.uri()];
    cfg
}

pub async fn reminders_app(api: &MockServer) -> TestApp {
    reminders_app_with(config_for(api)).await
}

pub async fn reminders_app_with(cfg: Config) -> TestApp {
    spawn_app(reminders_skill(), cfg).await
}

fn with_api(mut v: Value, endpoint: &str) -> Vec<u8> {
    v["context"]["System"]["apiEndpoint"] = endpoint.into();
    v["context"]["System"]["apiAccessToken"] = REQUEST_TOKEN.into();
    serde_json::to_vec(&v).expect("json")
}

/// An `IntentRequest` for `ReminderIntent` with slot `op`.
pub fn intent_body(op: &str, endpoint: &str) -> Vec<u8> {
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(repo_path("samples/intent-request.json")).unwrap())
            .unwrap();
    v["request"]["requestId"] = unique("rem-intent").into();
    v["request"]["intent"] = json!({
        "name": "ReminderIntent", "confirmationStatus": "NONE",
        "slots": {"op": {"name": "op", "value": op, "confirmationStatus": "NONE"}}
    });
    with_api(v, endpoint)
}

/// A `MessageReceived` asking for `op`.
pub fn message_for(op: &str, endpoint: &str) -> Vec<u8> {
    let v: Value =
        serde_json::from_slice(&message_body(&unique("rem-msg"), json!({ "op": op }))).unwrap();
    with_api(v, endpoint)
}

/// Mount one mock per op, each expecting exactly one call with the exact
/// method, path, headers and body.
async fn mount_every_op(api: &MockServer) {
    call("GET", "/v1/alerts/reminders".into(), REQUEST_TOKEN)
        .and(no_body)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalCount": "1", "alerts": [full_reminder()]})),
        )
        .expect(1)
        .mount(api)
        .await;
    call("GET", alert_path(), REQUEST_TOKEN)
        .and(no_body)
        .respond_with(ResponseTemplate::new(200).set_body_json(full_reminder()))
        .expect(1)
        .mount(api)
        .await;
    call("POST", "/v1/alerts/reminders".into(), REQUEST_TOKEN)
        .and(header("content-type", "application/json"))
        .and(body_json(reminder_json()))
        .respond_with(ResponseTemplate::new(201).set_body_json(summary("ON")))
        .expect(1)
        .mount(api)
        .await;
    call("PUT", alert_path(), REQUEST_TOKEN)
        .and(header("content-type", "application/json"))
        .and(body_json(reminder_json()))
        .respond_with(ResponseTemplate::new(200).set_body_json(summary("ON")))
        .expect(1)
        .mount(api)
        .await;
    call("DELETE", alert_path(), REQUEST_TOKEN)
        .and(no_body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(api)
        .await;
}

fn speech(body: &Value) -> String {
    body["response"]["outputSpeech"]["text"]
        .as_str()
        .or_else(|| body["response"]["outputSpeech"]["ssml"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn each_call_in_session() {
    let api = MockServer::start().await;
    mount_every_op(&api).await;
    let app = reminders_app(&api).await;
    for (op, said) in OPS.iter().zip([
        "1 reminders".to_owned(),
        format!("got {ALERT}"),
        format!("created {ALERT}"),
        format!("updated {ALERT}"),
        "deleted".to_owned(),
    ]) {
        let res = app.post(intent_body(op, &api.uri())).await;
        assert_eq!(res.status(), 200, "{op}");
        let body: Value = res.json().await.unwrap();
        assert!(speech(&body).contains(&said), "{op}: {body}");
    }
    app.stop().await;
    // Each mock's `.expect(1)` is verified when `api` drops.
}

#[tokio::test]
async fn each_call_from_a_message_handler() {
    let api = MockServer::start().await;
    mount_every_op(&api).await;
    let app = reminders_app(&api).await;
    for op in OPS {
        let res = app.post(message_for(op, &api.uri())).await;
        assert_eq!(res.status(), 200, "{op}");
        assert_eq!(
            res.text().await.unwrap(),
            r#"{"version":"1.0","response":{}}"#
        );
    }
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "alexa_endpoint_messages_unprocessable_total 0"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_missing_permission_is_asked_for_in_session_and_acknowledged_out_of_session() {
    let api = MockServer::start().await;
    for status in [401, 403] {
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"message": "not granted"})),
            )
            .up_to_n_times(2)
            .expect(2)
            .mount(&api)
            .await;
        let app = reminders_app(&api).await;
        let res = app.post(intent_body("create", &api.uri())).await;
        assert_eq!(res.status(), 200, "{status}");
        let body: Value = res.json().await.unwrap();
        assert!(
            speech(&body).contains("grant reminders permission"),
            "{body}"
        );
        // Out of session there is no one to ask: re-delivery cannot help.
        let res = app.post(message_for("update", &api.uri())).await;
        assert_eq!(res.status(), 200, "{status}");
        let metrics = app.admin_get("/metrics").await.text().await.unwrap();
        assert!(
            metrics
                .lines()
                .any(|l| l == "alexa_endpoint_messages_unprocessable_total 1"),
            "{metrics}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_reminder_that_is_gone_is_acknowledged_once() {
    let api = MockServer::start().await;
    call("PUT", alert_path(), REQUEST_TOKEN)
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "not found"})))
        .expect(1)
        .mount(&api)
        .await;
    let app = reminders_app(&api).await;
    assert_eq!(
        app.post(message_for("update", &api.uri())).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn the_token_never_goes_to_an_endpoint_that_is_not_allowed() {
    let allowed = MockServer::start().await;
    let foreign = MockServer::start().await;
    for server in [&allowed, &foreign] {
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .named("nothing may be sent")
            .mount(server)
            .await;
    }
    // A token of this test only, so that the log check below sees no other
    // test's requests.
    const GUARD_TOKEN: &str = "Atza|reminders-guard-token";
    let own_token = |body: Vec<u8>| {
        String::from_utf8(body)
            .unwrap()
            .replace(REQUEST_TOKEN, GUARD_TOKEN)
    };
    let app = reminders_app(&allowed).await;
    // In session the handler fails (500): no token left the process.
    let res = app
        .post(own_token(intent_body("list", &foreign.uri())))
        .await;
    assert_eq!(res.status(), 500);
    // Out of session it is acknowledged as never processable.
    let res = app
        .post(own_token(message_for("list", &foreign.uri())))
        .await;
    assert_eq!(res.status(), 200);
    app.stop().await;
    assert!(
        !captured_logs().contains(GUARD_TOKEN),
        "the token reached a log"
    );
}
