//! `alexa-endpoint send` as a process against mock LWA and Skill Messaging
//! endpoints.

use std::process::Output;

use serde_json::json;
use tokio::process::Command;
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "amzn1.ask.account.CLITEST";

/// Run `send` with `args` after the mock URLs; credentials as given (`None`:
/// unset). Proxy variables are removed so requests go to the mock.
async fn send(server: &MockServer, args: &[&str], creds: Option<(&str, &str)>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alexa-endpoint"));
    cmd.arg("send")
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

const CREDS: Option<(&str, &str)> = Some(("cli-client-id", "cli-SECRET"));

async fn mount_lwa(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atc|cli-token", "expires_in": 3600,
            "scope": "alexa:skill_messaging", "token_type": "bearer"
        })))
        .expect(times)
        .mount(server)
        .await;
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn accepted_message_exits_0_with_one_line() {
    let server = MockServer::start().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/skillmessages/users/{USER}")))
        .and(header("authorization", "Bearer Atc|cli-token"))
        .and(body_json(json!({
            "data": {"list": "shopping", "add": ["milk"]},
            "expiresAfterSeconds": 600
        })))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let out = send(
        &server,
        &[
            "--user-id",
            USER,
            "--data",
            r#"{"list":"shopping","add":["milk"]}"#,
            "--expires-after",
            "600",
        ],
        CREDS,
    )
    .await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("message accepted for delivery to {USER} (expires in 600 s)\n")
    );
}

#[tokio::test]
async fn a_403_exits_non_zero_with_status_and_message() {
    let server = MockServer::start().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/skillmessages/users/{USER}")))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"message": "The skill is not allowed to send messages to this user."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let out = send(&server, &["--user-id", USER, "--data", "{}"], CREDS).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("403"), "{stderr}");
    assert!(
        stderr.contains("The skill is not allowed to send messages to this user."),
        "{stderr}"
    );
    assert!(
        !stderr.contains("SECRET") && !stderr.contains("cli-token"),
        "{stderr}"
    );
}

#[tokio::test]
async fn bad_arguments_fail_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .named("no request may be made")
        .mount(&server)
        .await;
    let oversize = format!(r#"{{"blob":"{}"}}"#, "x".repeat(6200));
    type Case<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 7] = [
        (
            &["--data", "{}", "--expires-after", "59"],
            CREDS,
            "--expires-after",
        ),
        (
            &["--data", "{}", "--expires-after", "86401"],
            CREDS,
            "--expires-after",
        ),
        (&["--data", "[1]"], CREDS, "JSON object"),
        (&["--data", "{not json"], CREDS, "not valid JSON"),
        (&["--data", &oversize], CREDS, "6144"),
        (&["--data", "{}"], None, "ALEXA_CLIENT_ID"),
        (&["--data", "{}"], Some(("id", "")), "ALEXA_CLIENT_SECRET"),
    ];
    for (args, creds, expected) in cases {
        let mut all = vec!["--user-id", USER];
        all.extend_from_slice(args);
        let out = send(&server, &all, creds).await;
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
