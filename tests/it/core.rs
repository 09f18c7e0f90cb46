//! The headline path: receive, run the handler, acknowledge.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alexa_endpoint::envelope::{MessageReceivedRequest, Request};
use alexa_endpoint::{HandlerError, RequestContext, Response, Skill};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use crate::support::helpers::*;

const ACK: &str = r#"{"version":"1.0","response":{}}"#;

#[tokio::test]
async fn seed_payload_is_acknowledged_after_the_handler_saw_it() {
    let seen: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Default::default();
    let s = seen.clone();
    let skill = Skill::builder()
        .on_message(move |ctx: RequestContext, msg: MessageReceivedRequest| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap()
                    .push((ctx.request_id().to_owned(), msg.message));
                Ok(Response::ack())
            }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let res = app.post(seed_payload()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(res.text().await.unwrap(), ACK);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(
            "unique request ID".to_owned(),
            json!({"sometag": "message blob"})
        )]
    );
    app.stop().await;
}

#[tokio::test]
async fn no_response_byte_before_the_handler_finished() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let skill = blocking_skill(&entered, &release);
    let app = spawn_app(skill, test_config()).await;
    let body = seed_payload();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    entered.notified().await;
    // The handler is parked on `release`: the server has nothing to send yet.
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "response bytes arrived before the handler finished"
    );
    release.notify_one();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(ACK), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn handler_error_answers_500_and_the_redelivery_runs_again() {
    let runs = Runs::default();
    let r = runs.clone();
    let skill = Skill::builder()
        .on_message(move |_ctx, _msg| {
            let n = r.inc();
            async move {
                if n == 1 {
                    Err(HandlerError::new(std::io::Error::other("backend down")))
                } else {
                    Ok(Response::ack())
                }
            }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let body = message_body(&unique("fail-once"), json!({"a": 1}));
    let first = app.post(body.clone()).await;
    assert_eq!(first.status(), 500);
    let err: serde_json::Value = first.json().await.unwrap();
    assert_eq!(err["error"], "handler_error");
    assert!(!err["message"].as_str().unwrap().contains("backend down"));
    let second = app.post(body.clone()).await;
    assert_eq!(second.status(), 200);
    assert_eq!(runs.get(), 2);
    // Handled now: a third delivery is acknowledged without running.
    let third = app.post(body).await;
    assert_eq!(third.status(), 200);
    assert_eq!(third.text().await.unwrap(), ACK);
    assert_eq!(runs.get(), 2);
    app.stop().await;
}

#[tokio::test]
async fn handler_panic_answers_500_and_the_server_keeps_serving() {
    let runs = Runs::default();
    let r = runs.clone();
    let skill = Skill::builder()
        .on_message(move |ctx: RequestContext, _msg| {
            r.inc();
            let boom = ctx.request_id().starts_with("panic");
            async move {
                if boom {
                    panic!("handler bug");
                }
                Ok(Response::ack())
            }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let res = app.post(message_body(&unique("panic"), json!({}))).await;
    assert_eq!(res.status(), 500);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error"], "handler_panicked");
    let res = app.post(message_body(&unique("fine"), json!({}))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(runs.get(), 2);
    app.stop().await;
}

#[tokio::test]
async fn deadline_overrun_answers_503_and_releases_the_message() {
    let runs = Runs::default();
    let r = runs.clone();
    let skill = Skill::builder()
        .on_message(move |_ctx, _msg| {
            let n = r.inc();
            async move {
                if n == 1 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok(Response::ack())
            }
        })
        .build();
    let mut cfg = test_config();
    cfg.handler.deadline = std::time::Duration::from_millis(200);
    let app = spawn_app(skill, cfg).await;
    let body = message_body(&unique("slow"), json!({}));
    let res = app.post(body.clone()).await;
    assert_eq!(res.status(), 503);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error"], "handler_deadline_exceeded");
    // The overrun did not acknowledge: the re-delivery runs the handler.
    assert_eq!(app.post(body).await.status(), 200);
    assert_eq!(runs.get(), 2);
    app.stop().await;
}

#[tokio::test]
async fn unknown_request_type_reaches_the_fallback() {
    let seen: Arc<Mutex<Option<String>>> = Default::default();
    let s = seen.clone();
    let skill = Skill::builder()
        .fallback(move |_ctx, req: Request| {
            let s = s.clone();
            async move {
                *s.lock().unwrap() = Some(req.request_type().to_owned());
                Ok(Response::builder().speak("fallback").build())
            }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["request"]["type"] = "Brand.NewRequest".into();
    let res = app.post(serde_json::to_vec(&v).unwrap()).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["response"]["outputSpeech"]["text"], "fallback");
    assert_eq!(seen.lock().unwrap().as_deref(), Some("Brand.NewRequest"));
    app.stop().await;
}

/// The README's status table for request types without a handler.
#[tokio::test]
async fn request_types_without_a_handler_answer_per_the_status_table() {
    let app = spawn_app(Skill::builder().build(), test_config()).await;
    let cases = [
        ("message-received.json", 500),
        ("launch-request.json", 500),
        ("intent-request.json", 500),
        ("session-ended-request.json", 200),
        ("skill-enabled.json", 200),
        ("skill-disabled.json", 200),
        ("skill-permission-accepted.json", 200),
        ("skill-permission-changed.json", 200),
        ("skill-account-linked.json", 200),
        ("list-items-created.json", 200),
        ("list-items-updated.json", 200),
        ("list-items-deleted.json", 200),
        ("list-created.json", 200),
        ("list-updated.json", 200),
        ("list-deleted.json", 200),
        ("exception-encountered.json", 200),
    ];
    for (file, status) in cases {
        let body = std::fs::read(repo_path(&format!("samples/{file}"))).unwrap();
        let res = app.post(body).await;
        assert_eq!(res.status(), status, "{file}");
        let text = res.text().await.unwrap();
        if status == 200 {
            assert_eq!(text, ACK, "{file}");
        } else {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"], "no_handler", "{file}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn intent_handlers_are_chosen_by_intent_name() {
    let skill = Skill::builder()
        .on_intent("NoSuchIntent", |_ctx, _req| async {
            Ok(Response::builder().speak("wrong").build())
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let body = std::fs::read(repo_path("samples/intent-request.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let name = v["request"]["intent"]["name"].as_str().unwrap().to_owned();
    assert_ne!(name, "NoSuchIntent");
    assert_eq!(app.post(body.clone()).await.status(), 500);
    app.stop().await;

    let skill = Skill::builder()
        .on_intent(name, |_ctx, _req| async {
            Ok(Response::builder()
                .speak("right")
                .should_end_session(true)
                .build())
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let res = app.post(body).await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["response"]["outputSpeech"]["text"], "right");
    assert_eq!(v["response"]["shouldEndSession"], true);
    app.stop().await;
}

#[tokio::test]
async fn oversize_response_is_a_handler_error() {
    let skill = Skill::builder()
        .on_launch(|_ctx, _req| async { Ok(Response::builder().speak("x".repeat(30_000)).build()) })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let body = std::fs::read(repo_path("samples/launch-request.json")).unwrap();
    let res = app.post(body).await;
    assert_eq!(res.status(), 500);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "response_too_large");
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let mut app = spawn_app(Skill::builder().build(), test_config()).await;
    assert_eq!(app.admin_get("/healthz").await.status(), 200);
    let ready = app.admin_get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let v: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(v["dedup"], "memory");
    app.begin_shutdown();
    app.join.take().unwrap().await.unwrap().unwrap();
}

#[tokio::test]
async fn in_flight_request_is_acknowledged_during_shutdown() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let skill = blocking_skill(&entered, &release);
    let mut app = spawn_app(skill, test_config()).await;
    let url = app.url("/");
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .body(seed_payload())
            .send()
            .await
            .unwrap()
    });
    entered.notified().await;
    app.begin_shutdown();
    // The in-flight request is still answered 200 after shutdown began.
    release.notify_one();
    let res = in_flight.await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), ACK);
    app.join.take().unwrap().await.unwrap().unwrap();
    // After the drain no new connection is accepted.
    assert!(tokio::net::TcpStream::connect(app.addr).await.is_err());
}
