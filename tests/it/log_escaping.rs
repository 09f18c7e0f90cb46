//! The binary's logs with a hostile `requestId` (a newline followed by a
//! fake log line, ANSI escape sequences): in `pretty` format the value is
//! written escaped, so no line is forged and no escape reaches the output,
//! and a pipe gets no colours; in `json` format the value round-trips
//! exactly inside one JSON line.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alexa_endpoint::config::LogFormat;
use serde_json::json;
use tokio::process::Child;

use crate::support::helpers::*;
use crate::support::serve::ServeProcess;
use crate::support::wait::wait_for;

const FORGED_LINE: &str = "2030-01-01T00:00:00.000000Z  INFO alexa_endpoint: FORGED";
const HOSTILE_ID: &str = "amzn1.echo-api.request.MARK\n2030-01-01T00:00:00.000000Z  INFO alexa_endpoint: FORGED\r\x1b[31mred\x1b[0m\u{9b}2J";

struct Process {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

/// Start `serve` (verification off, the `log` handler) with `log.format =
/// format` and stderr on a pipe, collecting every line.
async fn start(format: LogFormat) -> Process {
    let mut config = test_config();
    config.log.format = format;
    let served = ServeProcess::builder(&config).start().await;
    Process {
        child: served.child,
        addr: served.addr,
        lines: served.lines,
        _dir: served.dir,
    }
}

/// Wait (bounded) until a collected line matches; returns it.
async fn wait_for_line(lines: &Mutex<Vec<String>>, pred: impl Fn(&str) -> bool) -> String {
    wait_for("a matching log line", Duration::from_secs(30), async || {
        let lines = lines.lock().unwrap();
        match lines.iter().find(|l| pred(l)) {
            Some(line) => Ok(line.clone()),
            None => Err(format!("lines {:?}", *lines)),
        }
    })
    .await
}

async fn post_hostile(p: &Process) {
    let res = reqwest::Client::new()
        .post(format!("http://{}/", p.addr))
        .body(message_body(HOSTILE_ID, json!({"note": "x\n\x1b[2Jy"})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn pretty_logs_escape_a_hostile_request_id_and_have_no_colours_in_a_pipe() {
    let mut p = start(LogFormat::Pretty).await;
    post_hostile(&p).await;
    // The per-request line is written after the handler's own line.
    wait_for_line(&p.lines, |l| l.contains("MARK") && l.contains("status=200")).await;
    p.child.kill().await.unwrap();
    let lines = p.lines.lock().unwrap().clone();
    let all = lines.join("\n");
    assert!(!all.contains('\x1b'), "raw escape (or colour) in: {all:?}");
    assert!(!all.contains('\r') && !all.contains('\u{9b}'), "{all:?}");
    assert!(
        !lines.iter().any(|l| l.starts_with("2030-01-01")),
        "a forged line: {all}"
    );
    let escaped = format!(r"MARK\n{FORGED_LINE}\r\u{{1b}}[31mred");
    let mentions = lines.iter().filter(|l| l.contains(&escaped)).count();
    // The `log` handler's line and the request line.
    assert!(mentions >= 2, "{escaped} not found escaped in: {all}");
}

#[tokio::test]
async fn json_logs_carry_a_hostile_request_id_exactly_in_one_line() {
    let mut p = start(LogFormat::Json).await;
    post_hostile(&p).await;
    wait_for_line(&p.lines, |l| {
        l.contains("MARK") && l.contains("\"status\":200")
    })
    .await;
    p.child.kill().await.unwrap();
    let lines = p.lines.lock().unwrap().clone();
    let mut carrying = 0;
    for line in &lines {
        assert!(!line.contains('\x1b') && !line.contains('\r'), "{line:?}");
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if line.contains("MARK") {
            let id = v["request_id"]
                .as_str()
                .or(v["span"]["request_id"].as_str())
                .unwrap_or_default();
            assert_eq!(id, HOSTILE_ID, "{line}");
            carrying += 1;
        }
    }
    assert!(carrying >= 2, "{lines:?}");
}
