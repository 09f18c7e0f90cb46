//! The dev PKI and signing: files, config snippet, and the `dev` CLI, all
//! verified end to end by the production verifier (preloaded chain, no
//! network).

use std::process::Command;

use alexa_endpoint::config::Config;
use alexa_endpoint::dev::{refresh_timestamp, sign_body, TestPki, DEV_CERT_URL};
use alexa_endpoint::verify::{Verifier, CERT_URL_HEADER, SIGNATURE_256_HEADER};
use http::{HeaderMap, HeaderValue};

use super::verify_support::{now, PKI};

const PAYLOAD: &str = r#"{
  "version": "1.0",
  "context": { "System": { "application": { "applicationId": "amzn1.ask.skill.dev" } } },
  "request": {
    "type": "Messaging.MessageReceived",
    "requestId": "amzn1.echo-api.request.old",
    "timestamp": "2018-01-01T00:00:00Z",
    "message": { "text": "it's a test" }
  }
}"#;

#[test]
fn write_then_load_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = PKI.write_to(dir.path()).expect("write");
    assert!(written.is_absolute());
    for name in [
        "root.pem",
        "intermediate.pem",
        "leaf.pem",
        "leaf-key.pem",
        "chain.pem",
        "verification.toml",
    ] {
        assert!(written.join(name).is_file(), "{name}");
    }
    let chain = std::fs::read_to_string(written.join("chain.pem")).expect("chain");
    assert!(chain.starts_with(PKI.leaf_pem()), "leaf first");
    assert!(chain.ends_with(PKI.intermediate_pem()), "then intermediate");

    let loaded = TestPki::load(&written).expect("load");
    assert_eq!(loaded.chain_pem(), PKI.chain_pem());
    assert_eq!(loaded.cert_url(), DEV_CERT_URL);
    // Same key: signatures are deterministic (PKCS#1 v1.5).
    assert_eq!(
        sign_body(&loaded, b"x").expect("sign"),
        sign_body(&PKI, b"x").expect("sign")
    );
}

#[tokio::test]
async fn config_snippet_gives_full_verification_without_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = PKI.write_to(dir.path()).expect("write");
    let snippet = std::fs::read_to_string(written.join("verification.toml")).expect("read");
    let cfg = Config::from_toml(&snippet).expect("snippet is a valid config");
    assert!(cfg.verification.enabled);

    // Production constructor: HTTPS source, but the chain is preloaded.
    let v = Verifier::from_config(&cfg.verification).expect("verifier");
    let body = refresh_timestamp(PAYLOAD.as_bytes(), now(), Some("req-1")).expect("refresh");
    let headers = sign_body(&PKI, &body).expect("sign").header_map();
    let verified = v.verify(&headers, &body, now()).await.expect("verifies");
    assert_eq!(verified.request_type, "Messaging.MessageReceived");
    assert_eq!(v.cert_stats().downloads, 0);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_alexa-endpoint"))
}

#[tokio::test]
async fn cli_dev_pki_and_dev_sign_produce_verifiable_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = dir.path().join("pki");
    let out = bin()
        .args(["dev", "pki"])
        .arg(&pki_dir)
        .output()
        .expect("run dev pki");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, PAYLOAD).expect("write payload");
    let out = bin()
        .args(["dev", "sign"])
        .arg(&payload)
        .arg("--pki")
        .arg(&pki_dir)
        .args(["--request-id", "req-42"])
        .output()
        .expect("run dev sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8");

    // "Header: value" lines, a blank line, then the body.
    let (head, body) = stdout
        .split_once("\n\n")
        .expect("headers, blank line, body");
    let body = body.trim_end_matches('\n');
    let mut headers = HeaderMap::new();
    for line in head.lines() {
        let (name, value) = line.split_once(": ").expect("header line");
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    assert!(headers.contains_key(CERT_URL_HEADER));
    assert!(headers.contains_key(SIGNATURE_256_HEADER));
    let json: serde_json::Value = serde_json::from_str(body).expect("body is JSON");
    assert_eq!(json["request"]["requestId"], "req-42");

    let snippet = std::fs::read_to_string(pki_dir.join("verification.toml")).expect("read snippet");
    let cfg = Config::from_toml(&snippet).expect("config");
    let v = Verifier::from_config(&cfg.verification).expect("verifier");
    let verified = v
        .verify(&headers, body.as_bytes(), now())
        .await
        .expect("the signed output verifies");
    assert_eq!(verified.request_type, "Messaging.MessageReceived");
}

#[test]
fn cli_dev_sign_curl_prints_a_shell_quoted_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki_dir = PKI.write_to(&dir.path().join("pki")).expect("write");
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, PAYLOAD).expect("write payload");
    let out = bin()
        .args(["dev", "sign"])
        .arg(&payload)
        .arg("--pki")
        .arg(&pki_dir)
        .args(["--curl", "http://127.0.0.1:8080/"])
        .output()
        .expect("run dev sign --curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmd = String::from_utf8(out.stdout).expect("utf8");
    assert!(cmd.starts_with("curl "), "{cmd}");
    assert!(cmd.contains("'http://127.0.0.1:8080/'"), "{cmd}");
    assert!(
        cmd.contains(&format!("'SignatureCertChainUrl: {DEV_CERT_URL}'")),
        "{cmd}"
    );
    assert!(cmd.contains("-H 'Signature-256: "), "{cmd}");
    // The apostrophe in the message survives shell quoting.
    assert!(cmd.contains(r"it'\''s a test"), "{cmd}");
    assert!(cmd.contains("--data-binary '{"), "{cmd}");
}

#[test]
fn cli_dev_sign_without_a_pki_explains_how_to_make_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, PAYLOAD).expect("write payload");
    let out = bin()
        .args(["dev", "sign"])
        .arg(&payload)
        .arg("--pki")
        .arg(dir.path().join("missing"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dev pki"), "{stderr}");
}
