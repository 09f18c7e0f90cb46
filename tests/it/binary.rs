//! The `alexa-endpoint` binary as a process.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_alexa-endpoint");

fn command() -> Command {
    init_logs();
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("ALEXA_ENDPOINT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info").kill_on_drop(true);
    cmd
}

/// Start `serve`, wait for its "listening" log line, return the address.
async fn start_serve(config: &str) -> (Child, std::net::SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = command()
        .args(["serve", "--config"])
        .arg(&file)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["fields"]["message"] == "listening (HTTP)"
                    || v["message"] == "listening (HTTP)"
                {
                    let addr = v["fields"]["addr"].as_str().or(v["addr"].as_str()).unwrap();
                    return addr.parse().unwrap();
                }
            }
        }
        panic!("server exited before listening");
    })
    .await
    .expect("server starts");
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, dir)
}

#[tokio::test]
async fn sigterm_lets_the_in_flight_request_finish_with_200_then_exits_0() {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)))
        .mount(&backend)
        .await;
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 20
[verification]
enabled = false
[handler]
kind = "webhook"
[handler.webhook]
url = "{}/hook"
[log]
format = "json"
"#,
        backend.uri()
    );
    let (mut child, addr, _dir) = start_serve(&config).await;
    let url = format!("http://{addr}/");
    let request = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .body(message_body("sigterm-1", json!({"x": 1})))
            .send()
            .await
    });
    // Wait until the handler is inside the slow webhook call.
    let mut inside = false;
    for _ in 0..2000 {
        if !backend.received_requests().await.unwrap().is_empty() {
            inside = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(inside, "the handler never called the webhook");
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let res = request.await.unwrap().expect("answered despite SIGTERM");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"version":"1.0","response":{}}"#
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits within the grace period")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn serve_with_an_invalid_value_exits_non_zero_naming_the_key() {
    let out = command()
        .args(["serve", "--config"])
        .arg(repo_path("config/local.toml"))
        .env("ALEXA_ENDPOINT_SERVER__LISTEN", "not-an-address")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.listen"), "{stderr}");
}

#[tokio::test]
async fn serve_refuses_to_verify_without_skill_ids() {
    let out = command().args(["serve"]).output().await.unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("verification.skill_ids"), "{stderr}");
}

#[tokio::test]
async fn check_config_prints_the_effective_config() {
    let out = command()
        .args(["check-config", "--config"])
        .arg(repo_path("config/local.toml"))
        .env("ALEXA_ENDPOINT_HANDLER__DEADLINE_MS", "1234")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(v["handler"]["deadline_ms"].as_integer(), Some(1234));
    assert_eq!(v["verification"]["enabled"].as_bool(), Some(false));
    assert_eq!(v["server"]["listen"].as_str(), Some("127.0.0.1:8080"));
}

#[tokio::test]
async fn healthcheck_subcommand_reports_the_server_health() {
    let app = spawn_app(alexa_endpoint::Skill::builder().build(), test_config()).await;
    let ok = command()
        .args(["healthcheck", &app.url("/healthz")])
        .status()
        .await
        .unwrap();
    assert!(ok.success());
    let missing = command()
        .args(["healthcheck", &app.url("/nope")])
        .status()
        .await
        .unwrap();
    assert!(!missing.success());
    app.stop().await;
}
