//! `alexa-endpoint notify` as a process against a mock Login with Amazon
//! and Proactive Events API.

use std::process::Output;

use serde_json::{json, Value};
use tokio::process::Command;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::api_proactive::{full_event, mount_token, USER};

const ID: &str = "notify-client-id";
const SECRET: &str = "notify-SECRET";
const CREDS: Option<(&str, &str)> = Some((ID, SECRET));

/// Write `event` to a temp file and run `notify --event FILE` with `args`
/// after the mock URLs; credentials as given (`None`: unset).
async fn notify(
    server: &MockServer,
    event: &Value,
    args: &[&str],
    creds: Option<(&str, &str)>,
) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("event.json");
    std::fs::write(&file, serde_json::to_vec(event).unwrap()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alexa-endpoint"));
    cmd.arg("notify")
        .arg("--event")
        .arg(&file)
        .args(["--api-endpoint", &server.uri()])
        .args(["--lwa-url", &format!("{}/auth/o2/token", server.uri())])
        .args(args)
        .env_remove("ALEXA_CLIENT_ID")
        .env_remove("ALEXA_CLIENT_SECRET");
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    if let Some((id, secret)) = creds {
        cmd.env("ALEXA_CLIENT_ID", id)
            .env("ALEXA_CLIENT_SECRET", secret);
    }
    cmd.output().await.expect("run the binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The event POST: Bearer token, JSON, and `check` on the body.
async fn mount_event(
    server: &MockServer,
    p: &str,
    check: impl Fn(&Value) -> bool + Send + Sync + 'static,
    answer: ResponseTemplate,
) {
    Mock::given(method("POST"))
        .and(path(p))
        .and(header("authorization", "Bearer Atc|notify"))
        .and(header("content-type", "application/json"))
        .and(move |req: &Request| {
            serde_json::from_slice::<Value>(&req.body)
                .map(|b| check(&b))
                .unwrap_or(false)
        })
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

fn bare_event() -> Value {
    let mut e = full_event();
    for k in ["timestamp", "referenceId", "expiryTime"] {
        e.as_object_mut().unwrap().remove(k);
    }
    e
}

#[tokio::test]
async fn unicast_to_development_fills_the_missing_fields() {
    let server = MockServer::start().await;
    mount_token(&server, ID, SECRET, "Atc|notify", 1).await;
    mount_event(
        &server,
        "/v1/proactiveEvents/stages/development",
        |b| {
            b["relevantAudience"] == json!({"type": "Unicast", "payload": {"user": USER}})
                && b["event"] == full_event()["event"]
                && b["localizedAttributes"] == full_event()["localizedAttributes"]
                && ["timestamp", "referenceId", "expiryTime"]
                    .iter()
                    .all(|k| b[k].as_str().is_some_and(|s| !s.is_empty()))
        },
        ResponseTemplate::new(202),
    )
    .await;
    let out = notify(
        &server,
        &bare_event(),
        &["--user-id", USER, "--expires-after", "600"],
        CREDS,
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("accepted for user {USER}")),
        "{stdout}"
    );
    assert!(stdout.contains("development stage"), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stdout.contains("Atc|notify"));
}

#[tokio::test]
async fn multicast_live_keeps_the_given_fields() {
    let server = MockServer::start().await;
    mount_token(&server, ID, SECRET, "Atc|notify", 1).await;
    let mut expected = full_event();
    expected["relevantAudience"] = json!({"type": "Multicast", "payload": {}});
    mount_event(
        &server,
        "/v1/proactiveEvents",
        move |b| *b == expected,
        ResponseTemplate::new(202),
    )
    .await;
    let out = notify(
        &server,
        &full_event(),
        &["--multicast", "--stage", "live"],
        CREDS,
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        stdout,
        "event ref-0001 (AMAZON.MessageAlert.Activated) accepted for all subscribed users \
         (multicast) on the live stage (expires 2026-11-29T13:00:00Z)\n"
    );
}

#[tokio::test]
async fn unicast_live_and_multicast_development_use_their_paths() {
    for (args, p, audience) in [
        (
            vec!["--user-id", USER, "--stage", "live"],
            "/v1/proactiveEvents",
            json!({"type": "Unicast", "payload": {"user": USER}}),
        ),
        (
            vec!["--multicast"],
            "/v1/proactiveEvents/stages/development",
            json!({"type": "Multicast", "payload": {}}),
        ),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, ID, SECRET, "Atc|notify", 1).await;
        mount_event(
            &server,
            p,
            move |b| b["relevantAudience"] == audience,
            ResponseTemplate::new(202),
        )
        .await;
        let out = notify(&server, &full_event(), &args, CREDS).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
}

#[tokio::test]
async fn a_400_or_403_from_alexa_is_a_clear_error_and_a_non_zero_exit() {
    for (status, message) in [
        (400, "Invalid event payload: messageGroup.count"),
        (403, "The skill is not allowed to send this event."),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, ID, SECRET, "Atc|notify", 1).await;
        mount_event(
            &server,
            "/v1/proactiveEvents/stages/development",
            |_| true,
            ResponseTemplate::new(status).set_body_json(json!({ "message": message })),
        )
        .await;
        let out = notify(&server, &full_event(), &["--user-id", USER], CREDS).await;
        assert!(!out.status.success(), "{status}");
        assert!(out.stdout.is_empty(), "{status}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("HTTP {status}")), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(
            !stderr.contains(SECRET) && !stderr.contains("Atc|notify"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn a_refused_token_request_names_the_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let out = notify(&server, &full_event(), &["--multicast"], CREDS).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Client authentication failed"), "{stderr}");
    assert!(stderr.contains("ALEXA_CLIENT_ID"), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
}

#[tokio::test]
async fn bad_arguments_and_missing_credentials_fail_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .named("no request may be made")
        .mount(&server)
        .await;
    let mut nameless = full_event();
    nameless["event"] = json!({"payload": {}});
    type Case<'a> = (Value, Vec<&'a str>, Option<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (full_event(), vec!["--multicast"], None, "ALEXA_CLIENT_ID"),
        (
            full_event(),
            vec!["--multicast"],
            Some((ID, "")),
            "ALEXA_CLIENT_SECRET",
        ),
        (full_event(), vec![], CREDS, "--user-id"),
        (
            full_event(),
            vec!["--multicast", "--user-id", USER],
            CREDS,
            "cannot be used with",
        ),
        (
            full_event(),
            vec!["--multicast", "--stage", "prod"],
            CREDS,
            "development or live",
        ),
        (
            full_event(),
            vec!["--multicast", "--expires-after", "60"],
            CREDS,
            "--expires-after",
        ),
        (nameless, vec!["--multicast"], CREDS, "event"),
        (
            json!([1]),
            vec!["--multicast"],
            CREDS,
            "not a proactive event",
        ),
    ];
    for (event, args, creds, expected) in cases {
        let out = notify(&server, &event, &args, creds).await;
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn the_sample_event_is_sent_as_it_is() {
    let sample: Value = serde_json::from_slice(
        &std::fs::read(crate::support::helpers::repo_path(
            "samples/proactive-events/message-alert.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let server = MockServer::start().await;
    mount_token(&server, ID, SECRET, "Atc|notify", 1).await;
    let expected = sample.clone();
    mount_event(
        &server,
        "/v1/proactiveEvents/stages/development",
        move |b| {
            b["event"] == expected["event"]
                && b["localizedAttributes"] == expected["localizedAttributes"]
        },
        ResponseTemplate::new(202),
    )
    .await;
    let out = notify(&server, &sample, &["--user-id", USER], CREDS).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
}
