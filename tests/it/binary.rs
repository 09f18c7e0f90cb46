//! The `alexa-endpoint` binary as a process.

use std::time::Duration;

use alexa_endpoint::config::LogFormat;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::config::webhook_handler;
use crate::support::helpers::*;
use crate::support::serve::ServeProcess;

#[tokio::test]
async fn sigterm_lets_the_in_flight_request_finish_with_200_then_exits_0() {
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)))
        .mount(&backend)
        .await;
    let mut config = test_config();
    config.server.shutdown_grace = Duration::from_secs(20);
    webhook_handler(&mut config, &format!("{}/hook", backend.uri()));
    let served = ServeProcess::builder(&config).start().await;
    let (mut child, addr) = (served.child, served.addr);
    let url = format!("http://{addr}/");
    let request = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .body(message_body("sigterm-1", json!({"x": 1})))
            .send()
            .await
    });
    // Wait until the handler is inside the slow webhook call.
    wait_for_requests(
        "the handler calling the webhook",
        &backend,
        1,
        Duration::from_secs(10),
    )
    .await;
    send_signal(&child, "-TERM");
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
        .args(["healthcheck", &app.admin_url("/healthz")])
        .status()
        .await
        .unwrap();
    assert!(ok.success());
    let missing = command()
        .args(["healthcheck", &app.admin_url("/nope")])
        .status()
        .await
        .unwrap();
    assert!(!missing.success());
    app.stop().await;
}

#[tokio::test]
async fn local_config_does_not_verify_and_says_so_loudly_at_start() {
    let local =
        alexa_endpoint::Config::load_with_env(Some(&repo_path("config/local.toml")), []).unwrap();
    assert!(!local.verification.enabled);
    let mut defaults = alexa_endpoint::Config::load_with_env(None, []);
    // The embedded defaults verify, and so refuse to start without a skill id.
    assert!(matches!(
        defaults,
        Err(alexa_endpoint::config::ConfigError::Invalid { ref key, .. })
            if key == "verification.skill_ids"
    ));
    defaults = alexa_endpoint::Config::load_with_env(
        None,
        [(
            "ALEXA_ENDPOINT_VERIFICATION__SKILL_IDS".to_owned(),
            "amzn1.ask.skill.a,amzn1.ask.skill.b".to_owned(),
        )],
    );
    let defaults = defaults.unwrap();
    assert!(defaults.verification.enabled);
    assert_eq!(
        defaults.verification.skill_ids,
        ["amzn1.ask.skill.a", "amzn1.ask.skill.b"]
    );

    // The shipped local config on free ports, logging JSON (what the builder reads).
    let mut config = local;
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.admin_listen = "127.0.0.1:0".parse().unwrap();
    config.log.format = LogFormat::Json;
    let mut served = ServeProcess::builder(&config)
        .expect_log_before_listening("REQUEST VERIFICATION IS OFF")
        .start()
        .await;
    served.child.kill().await.unwrap();
}
