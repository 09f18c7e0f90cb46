//! `/metrics` counts what happened, under the right labels; one access log
//! line per request carries the requestId and outcome, and no token.

use std::collections::BTreeMap;

use alexa_endpoint::{Response, Skill};
use serde_json::json;

use crate::support::helpers::*;

/// Parse OpenMetrics text into `name{sorted labels}` → value.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value.parse().expect("numeric sample");
        let key = match series.split_once('{') {
            None => series.to_owned(),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("closing brace");
                let mut pairs: Vec<(String, String)> = labels
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').expect("k=v");
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                pairs.sort();
                let labels: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{name}{{{}}}", labels.join(","))
            }
        };
        out.insert(key, value);
    }
    out
}

#[tokio::test]
async fn metrics_count_good_rejected_and_duplicate_requests() {
    let skill = Skill::builder()
        .on_message(|_ctx, _msg| async { Ok(Response::ack()) })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let body = message_body(&unique("metrics"), json!({"n": 1}));
    assert_eq!(app.post(body.clone()).await.status(), 200);
    assert_eq!(app.post(body).await.status(), 200); // duplicate
    assert_eq!(app.post(&b"not json"[..]).await.status(), 400);

    let res = app.admin_get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let m = parse_exposition(&res.text().await.unwrap());
    let get = |k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no series {k} in {m:#?}"))
    };
    assert_eq!(
        get("alexa_endpoint_requests_total{request_type=Messaging.MessageReceived,status=200}"),
        2.0
    );
    assert_eq!(
        get("alexa_endpoint_requests_total{request_type=none,status=400}"),
        1.0
    );
    assert_eq!(
        get("alexa_endpoint_dedup_outcomes_total{outcome=handled}"),
        1.0
    );
    assert_eq!(
        get("alexa_endpoint_dedup_outcomes_total{outcome=duplicate}"),
        1.0
    );
    assert_eq!(get("alexa_endpoint_messages_acknowledged_total"), 2.0);
    assert_eq!(get("alexa_endpoint_request_duration_seconds_count"), 3.0);
    assert_eq!(get("alexa_endpoint_handler_duration_seconds_count"), 1.0);
    assert_eq!(
        get(&format!(
            "alexa_endpoint_build_info{{version={}}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_registries_are_per_instance() {
    let a = spawn_app(Skill::builder().build(), test_config()).await;
    let b = spawn_app(Skill::builder().build(), test_config()).await;
    assert_eq!(a.post(&b"{"[..]).await.status(), 400);
    let mb = parse_exposition(&b.admin_get("/metrics").await.text().await.unwrap());
    assert!(
        !mb.keys()
            .any(|k| k.starts_with("alexa_endpoint_requests_total")),
        "{mb:#?}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn one_access_log_line_per_request_with_request_id_and_outcome() {
    let skill = Skill::builder()
        .on_message(|_ctx, _msg| async { Ok(Response::ack()) })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let id = unique("logline");
    let mut v: serde_json::Value = serde_json::from_slice(&message_body(&id, json!({}))).unwrap();
    v["context"]["System"]["apiAccessToken"] = "tokenNEVERLOGGED-1".into();
    let body = serde_json::to_vec(&v).unwrap();
    assert_eq!(app.post(body.clone()).await.status(), 200);
    assert_eq!(app.post(body).await.status(), 200);
    app.stop().await;
    let logs = captured_logs();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| {
            l["fields"]["message"] == "request" && l["fields"]["request_id"] == id.as_str()
        })
        .collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(
        lines[0]["fields"]["request_type"],
        "Messaging.MessageReceived"
    );
    assert_eq!(lines[0]["fields"]["status"], 200);
    assert_eq!(lines[0]["fields"]["outcome"], "handled");
    assert!(lines[0]["fields"]["duration_us"].is_u64());
    assert_eq!(lines[1]["fields"]["outcome"], "duplicate");
    assert!(!logs.contains("tokenNEVERLOGGED-1"));
}

#[tokio::test]
async fn handler_logs_carry_the_request_id_span() {
    let skill = Skill::builder()
        .on_message(|_ctx, _msg| async {
            tracing::info!("inside the handler for the span test");
            Ok(Response::ack())
        })
        .build();
    let app = spawn_app(skill, test_config()).await;
    let id = unique("span");
    assert_eq!(app.post(message_body(&id, json!({}))).await.status(), 200);
    app.stop().await;
    let line = captured_logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| {
            l["fields"]["message"] == "inside the handler for the span test"
                && l["span"]["request_id"] == id.as_str()
        });
    let line = line.expect("the handler's log line carries the request span");
    assert_eq!(line["span"]["request_type"], "Messaging.MessageReceived");
}
