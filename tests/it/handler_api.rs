//! Handler ergonomics through the real server: permission cards, `?` on
//! Alexa API errors, shared state, `reject_message`, `"user": {}`, and the
//! request-type table driving parsing, routing and metrics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use alexa_endpoint::api::ApiError;
use alexa_endpoint::envelope::{
    parse, CanFulfillIntentRequest, IntentRequest, LaunchRequest, MessageReceivedRequest,
    RequestKind,
};
use alexa_endpoint::{HandlerResult, RequestContext, Response, Skill};
use serde_json::{json, Value};

use crate::support::helpers::*;

const ACK: &str = r#"{"version":"1.0","response":{}}"#;

fn sample_json(name: &str) -> Value {
    let bytes = std::fs::read(repo_path(&format!("samples/{name}"))).expect("sample");
    serde_json::from_slice(&bytes).expect("sample is JSON")
}

/// Metric value of one exact series line prefix, e.g. `name{labels}`.
async fn metric(app: &TestApp, series: &str) -> Option<f64> {
    let text = app.admin_get("/metrics").await.text().await.unwrap();
    metric_value(&text, series)
}

#[tokio::test]
async fn launch_answers_with_an_ask_for_permissions_consent_card() {
    async fn on_launch(_ctx: RequestContext, _req: LaunchRequest) -> HandlerResult {
        Ok(Response::builder()
            .speak("Please grant list access in the Alexa app.")
            .ask_for_permissions_consent([
                "read::alexa:household:list",
                "write::alexa:household:list",
            ])
            .should_end_session(true)
            .build())
    }
    let skill = Skill::builder().on_launch(on_launch).build();
    let app = spawn_app(skill, test_config()).await;
    let res = app
        .post(serde_json::to_vec(&sample_json("launch-request.json")).unwrap())
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    // Exactly Alexa's card object: these two members, nothing else.
    assert_eq!(
        body["response"]["card"],
        json!({
            "type": "AskForPermissionsConsent",
            "permissions": ["read::alexa:household:list", "write::alexa:household:list"]
        })
    );
    assert_eq!(
        body["response"]["outputSpeech"],
        json!({"type": "PlainText", "text": "Please grant list access in the Alexa app."})
    );
    app.stop().await;
}

#[test]
fn link_account_card_is_alexas_format() {
    let bytes = Response::builder().link_account_card().build().to_bytes();
    let v: Value = serde_json::from_slice(&bytes.unwrap()).unwrap();
    assert_eq!(v["response"]["card"], json!({"type": "LinkAccount"}));
}

#[test]
fn reject_message_serializes_like_an_ack() {
    let r = Response::reject_message("no list");
    assert_eq!(r.to_bytes().unwrap(), ACK.as_bytes());
    assert_eq!(r.unprocessable_reason(), Some("no list"));
    assert_eq!(Response::ack().unprocessable_reason(), None);
}

/// A message handler that fails with `error` through `?`.
fn failing_with(error: fn() -> ApiError, runs: &Runs) -> Skill {
    let runs = runs.clone();
    Skill::builder()
        .on_message(move |_ctx, _msg| {
            runs.inc();
            async move {
                let call: Result<(), ApiError> = Err(error());
                call?;
                Ok(Response::ack())
            }
        })
        .build()
}

#[tokio::test]
async fn question_mark_on_a_transient_api_error_answers_503() {
    let runs = Runs::default();
    let server_error = || ApiError::Server {
        status: 502,
        message: "bad gateway".into(),
    };
    let app = spawn_app(failing_with(server_error, &runs), test_config()).await;
    let body = message_body(&unique("api-503"), json!({}));
    for _ in 0..2 {
        let res = app.post(body.clone()).await;
        assert_eq!(res.status(), 503);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"], "handler_unavailable");
        assert!(!err.to_string().contains("bad gateway"), "{err}");
    }
    // Not acknowledged: the re-delivery ran the handler again.
    assert_eq!(runs.get(), 2);
    for transient in [
        || ApiError::Timeout,
        || ApiError::RateLimited {
            retry_after: None,
            message: String::new(),
        },
        || ApiError::Transport("reset".into()),
    ] {
        assert!(alexa_endpoint::HandlerError::from(transient()).is_transient());
    }
    app.stop().await;
}

#[tokio::test]
async fn question_mark_on_a_permanent_api_error_answers_500() {
    let runs = Runs::default();
    let forbidden = || ApiError::Forbidden {
        message: "no list permission".into(),
    };
    let app = spawn_app(failing_with(forbidden, &runs), test_config()).await;
    let res = app.post(message_body(&unique("api-500"), json!({}))).await;
    assert_eq!(res.status(), 500);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "handler_error");
    assert_eq!(runs.get(), 1);
    for permanent in [|| ApiError::NoToken, || ApiError::NoEndpoint] {
        assert!(!alexa_endpoint::HandlerError::from(permanent()).is_transient());
    }
    // Any other error stays a plain failure.
    assert!(!alexa_endpoint::HandlerError::from("boom").is_transient());
    app.stop().await;
}

#[derive(Clone)]
struct Counter {
    seen: Arc<AtomicUsize>,
    name: &'static str,
}

async fn count_message(
    ctx: RequestContext<Counter>,
    _msg: MessageReceivedRequest,
) -> HandlerResult {
    ctx.state().seen.fetch_add(1, Ordering::SeqCst);
    Ok(Response::ack())
}

async fn greet(ctx: RequestContext<Counter>, _req: LaunchRequest) -> HandlerResult {
    Ok(Response::builder().speak(ctx.state().name).build())
}

#[tokio::test]
async fn handlers_share_state_given_with_state() {
    let seen = Arc::new(AtomicUsize::new(0));
    let skill = Skill::builder()
        .with_state(Counter {
            seen: seen.clone(),
            name: "state-greeting",
        })
        .on_message(count_message)
        .on_launch(greet)
        .build();
    let app = spawn_app(skill, test_config()).await;
    for i in 0..3 {
        let res = app
            .post(message_body(&unique(&format!("state-{i}")), json!({})))
            .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let res = app
        .post(serde_json::to_vec(&sample_json("launch-request.json")).unwrap())
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["response"]["outputSpeech"]["text"], "state-greeting");
    app.stop().await;
}

#[tokio::test]
async fn reject_message_is_acknowledged_counted_and_not_run_again() {
    let runs = Runs::default();
    let r = runs.clone();
    let skill = Skill::builder()
        .on_message(move |_ctx, _msg| {
            r.inc();
            async { Ok(Response::reject_message("not a message for this skill")) }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let id = unique("reject");
    let body = message_body(&id, json!({"nonsense": true}));
    let res = app.post(body.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), ACK);
    assert_eq!(
        metric(&app, "alexa_endpoint_messages_unprocessable_total").await,
        Some(1.0)
    );
    // Acknowledged means handled: a re-delivery does not run it again.
    assert_eq!(app.post(body).await.status(), 200);
    assert_eq!(runs.get(), 1);
    assert_eq!(
        metric(&app, "alexa_endpoint_messages_unprocessable_total").await,
        Some(1.0)
    );
    assert_eq!(
        metric(&app, "alexa_endpoint_messages_acknowledged_total").await,
        Some(2.0)
    );
    let logs = captured_logs();
    let line = logs
        .lines()
        .filter(|l| l.contains(&id))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "request")
        .expect("access log line");
    assert_eq!(line["fields"]["outcome"], "unprocessable");
    assert!(logs
        .lines()
        .any(|l| l.contains(&id) && l.contains("not a message for this skill")));
    app.stop().await;
}

/// `sample` with every `user` object replaced by `{}`.
fn with_empty_user(name: &str) -> Value {
    let mut v = sample_json(name);
    if v["context"]["System"].get("user").is_some() {
        v["context"]["System"]["user"] = json!({});
    }
    if v["session"].get("user").is_some() {
        v["session"]["user"] = json!({});
    }
    v
}

#[test]
fn empty_or_absent_user_parses() {
    for name in [
        "can-fulfill-intent-request.json",
        "intent-request.json",
        "message-received.json",
    ] {
        let empty = with_empty_user(name);
        let env = parse(&serde_json::to_vec(&empty).unwrap())
            .unwrap_or_else(|e| panic!("{name} with user {{}}: {e}"));
        assert_eq!(env.user_id(), None, "{name}");
        let mut absent = empty.clone();
        if let Some(system) = absent["context"]["System"].as_object_mut() {
            system.remove("user");
        }
        if let Some(session) = absent["session"].as_object_mut() {
            session.remove("user");
        }
        let env = parse(&serde_json::to_vec(&absent).unwrap())
            .unwrap_or_else(|e| panic!("{name} without user: {e}"));
        assert_eq!(env.user_id(), None, "{name}");
    }
    // A user with an access token but no userId.
    let mut v = sample_json("message-received.json");
    v["context"]["System"]["user"] = json!({"accessToken": "linked"});
    let env = parse(&serde_json::to_vec(&v).unwrap()).expect("no userId");
    assert_eq!(env.user_id(), None);
    assert!(env.access_token().is_some());
}

#[tokio::test]
async fn requests_with_an_empty_user_are_handled_through_the_server() {
    let runs = Runs::default();
    let (a, b, c) = (runs.clone(), runs.clone(), runs.clone());
    let skill = Skill::builder()
        .on_can_fulfill_intent(move |ctx: RequestContext, _r: CanFulfillIntentRequest| {
            a.inc();
            assert_eq!(ctx.user_id(), None);
            async { Ok(Response::ack()) }
        })
        .on_intent(
            "OrderPizzaIntent",
            move |ctx: RequestContext, _r: IntentRequest| {
                b.inc();
                assert_eq!(ctx.user_id(), None);
                async { Ok(Response::builder().speak("ok").build()) }
            },
        )
        .on_message(move |ctx: RequestContext, _m: MessageReceivedRequest| {
            c.inc();
            assert_eq!(ctx.user_id(), None);
            async { Ok(Response::ack()) }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    for name in [
        "can-fulfill-intent-request.json",
        "intent-request.json",
        "message-received.json",
    ] {
        let res = app
            .post(serde_json::to_vec(&with_empty_user(name)).unwrap())
            .await;
        assert_eq!(res.status(), 200, "{name}: {}", res.text().await.unwrap());
    }
    assert_eq!(runs.get(), 3);
    app.stop().await;
}

/// Every kind of the request-type table is parsed, routed by its
/// `needs_answer` and counted under its `as_str` label, with no per-type
/// code in the server: the table is the only list of types.
#[tokio::test]
async fn every_kind_in_the_table_is_parsed_routed_and_labelled() {
    let app = spawn_app(Skill::builder().build(), test_config()).await;
    for (i, kind) in RequestKind::ALL.iter().enumerate() {
        let body = json!({
            "version": "1.0",
            "request": {
                "type": kind.as_str(),
                "requestId": unique(&format!("kind-{i}")),
                "timestamp": "2022-10-03T16:20:50Z",
                "intent": {"name": "SomeIntent"},
                "message": {},
            }
        });
        let res = app.post(serde_json::to_vec(&body).unwrap()).await;
        let expected = if kind.needs_answer() { 500 } else { 200 };
        assert_eq!(res.status(), expected, "{kind}");
        let series = format!(
            "alexa_endpoint_requests_total{{request_type=\"{}\",status=\"{expected}\"}}",
            kind.as_str()
        );
        assert_eq!(metric(&app, &series).await, Some(1.0), "{series}");
        assert_eq!(RequestKind::from_wire(kind.as_str()), *kind);
    }
    assert_eq!(
        RequestKind::from_wire("Alexa.Presentation.APL.UserEvent"),
        RequestKind::Unknown
    );
    app.stop().await;
}
