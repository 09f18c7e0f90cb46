//! Tokens and secrets never reach a log, an error body, `Debug` output or
//! `check-config` output.

use alexa_endpoint::config::{HandlerKind, WebhookConfig, WebhookSecret};
use alexa_endpoint::envelope::MessageReceivedRequest;
use alexa_endpoint::{HandlerError, RequestContext, Response, Skill};
use serde_json::json;

use crate::support::helpers::*;

const API_TOKEN: &str = "apiTokenSECRET-7f3a9c";
const USER_TOKEN: &str = "userTokenSECRET-51be0d";
const WEBHOOK_SECRET: &str = "whsec_c2VjcmV0U0VDUkVULXdlYmhvb2s=";
const REDIS_PASSWORD: &str = "redisPassSECRET";

fn body_with_tokens(request_id: &str) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["context"]["System"]["apiAccessToken"] = API_TOKEN.into();
    v["context"]["System"]["user"]["accessToken"] = USER_TOKEN.into();
    v["request"]["requestId"] = request_id.into();
    serde_json::to_vec(&v).unwrap()
}

fn assert_clean(text: &str, what: &str) {
    for secret in [
        API_TOKEN,
        USER_TOKEN,
        WEBHOOK_SECRET,
        REDIS_PASSWORD,
        "c2VjcmV0U0VDUkVULXdlYmhvb2s",
    ] {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[tokio::test]
async fn no_token_in_logs_error_bodies_or_debug() {
    let debug_seen: std::sync::Arc<std::sync::Mutex<String>> = Default::default();
    let d = debug_seen.clone();
    let skill = Skill::builder()
        .on_message(move |ctx: RequestContext, msg: MessageReceivedRequest| {
            let d = d.clone();
            async move {
                *d.lock().unwrap() = format!("{ctx:?} {:?} {msg:?}", ctx.envelope());
                tracing::info!(?ctx, "handler saw the context");
                if ctx.request_id().starts_with("fail") {
                    return Err(HandlerError::new(std::io::Error::other(
                        "downstream failed",
                    )));
                }
                Ok(Response::ack())
            }
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let ok = app.post(body_with_tokens(&unique("ok"))).await;
    assert_eq!(ok.status(), 200);
    assert_clean(&ok.text().await.unwrap(), "response body");
    let failed = app.post(body_with_tokens(&unique("fail"))).await;
    assert_eq!(failed.status(), 500);
    assert_clean(&failed.text().await.unwrap(), "error body");
    // A body that fails to parse, with the tokens inside it.
    let mut broken: serde_json::Value = serde_json::from_slice(&body_with_tokens("x")).unwrap();
    broken["request"]["timestamp"] = json!(API_TOKEN);
    let bad = app.post(serde_json::to_vec(&broken).unwrap()).await;
    assert_eq!(bad.status(), 400);
    assert_clean(&bad.text().await.unwrap(), "400 body");

    let debug = debug_seen.lock().unwrap().clone();
    assert!(debug.contains("RequestContext"), "{debug}");
    assert_clean(&debug, "Debug output");
    app.stop().await;
    let logs = captured_logs();
    assert!(
        logs.contains("handler saw the context"),
        "logs were not captured"
    );
    assert_clean(&logs, "logs");
}

#[tokio::test]
async fn webhook_secret_is_not_in_debug() {
    let mut cfg = test_config();
    cfg.handler.kind = HandlerKind::Webhook;
    cfg.handler.webhook = Some(WebhookConfig {
        url: "http://127.0.0.1:9/hook".parse().unwrap(),
        secret: Some(WebhookSecret::parse(WEBHOOK_SECRET).unwrap()),
    });
    assert_clean(&format!("{cfg:?}"), "Config Debug");
}

/// A webhook URL can carry credentials too (user info, a token parameter):
/// `Debug` shows it redacted, like every URL that may carry them.
#[test]
fn webhook_url_credentials_are_not_in_debug_or_errors() {
    let url = format!("https://hook:{REDIS_PASSWORD}@hook.example/in?token={API_TOKEN}&x=1");
    let mut cfg = test_config();
    cfg.handler.kind = HandlerKind::Webhook;
    cfg.handler.webhook = Some(WebhookConfig {
        url: url.parse().unwrap(),
        secret: None,
    });
    let debug = format!("{cfg:?}");
    assert_clean(&debug, "Config Debug");
    assert!(
        debug.contains("hook.example/in?token=[redacted]&x=1"),
        "{debug}"
    );
    let err = alexa_endpoint::Config::from_toml(&format!(
        "[verification]\nenabled = false\n[handler]\nkind = \"webhook\"\n\
         [handler.webhook]\nurl = \"https://hook:{REDIS_PASSWORD}@[hook.example/in\""
    ))
    .unwrap_err();
    assert_eq!(err.key(), Some("handler.webhook.url"), "{err}");
    assert_clean(&err.to_string(), "config error");
}

#[tokio::test]
async fn check_config_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_url = "redis://:{REDIS_PASSWORD}@127.0.0.1:6379"
[handler]
kind = "webhook"
[handler.webhook]
url = "http://127.0.0.1:9/hook"
secret = "{WEBHOOK_SECRET}"
"#
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_alexa-endpoint"))
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[redacted]"), "{text}");
    assert!(text.contains("http://127.0.0.1:9/hook"), "{text}");
    assert!(
        text.contains("redis_url = \"redis://[redacted]@127.0.0.1:6379\""),
        "{text}"
    );
    assert_clean(&text, "check-config output");
}
