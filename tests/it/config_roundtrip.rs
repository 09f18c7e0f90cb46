//! A typed config written as `check-config` prints it (`Config::redacted`)
//! loads back to the same values, its secrets given by variables: what the
//! process tests rely on, and `check-config`'s output pinned as a config
//! file that loads.

use std::path::Path;
use std::time::Duration;

use alexa_endpoint::config::{
    AmqpQueueConfig, Config, ConfigError, LogFormat, QueueBackend, TlsConfig, WebhookConfig,
    WebhookSecret,
};
use rcgen::{CertificateParams, KeyPair};

use crate::support::config::{
    assert_same_values, otlp_export, queue_handler, redis_dedup, trust_dev_pki,
};
use crate::support::helpers::*;
use crate::support::redis::secret_url;
use crate::verify_support::PKI;

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const AMQP_URL: &str = "amqp://bob:s3cretPW@broker.internal:5672/vh";

/// The variables that give the secrets the file shows redacted.
fn secrets() -> Vec<(String, String)> {
    vec![
        (
            "ALEXA_ENDPOINT_HANDLER__WEBHOOK__SECRET".to_owned(),
            WEBHOOK_SECRET.to_owned(),
        ),
        (
            "ALEXA_ENDPOINT_HANDLER__QUEUE__URL".to_owned(),
            AMQP_URL.to_owned(),
        ),
    ]
}

/// A config with a value other than the default in every section, every
/// optional table present, two secrets, and real files where a path is
/// named (`check-config` reads them).
fn typed(dir: &Path) -> Config {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let pki = PKI.write_to(&dir.join("pki")).unwrap();

    let mut cfg = test_config();
    let s = &mut cfg.server;
    s.path = "/alexa".to_owned();
    s.body_limit_bytes = 65_536;
    s.shutdown_grace = Duration::from_secs(7);
    s.header_read_timeout = Duration::from_millis(1500);
    s.body_read_timeout = Duration::from_millis(2500);
    s.idle_timeout = Duration::from_secs(30);
    s.max_connections = 100;
    s.max_header_bytes = 8192;
    s.max_in_flight = 9;
    s.http2 = true;
    s.tls = Some(TlsConfig {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    });

    trust_dev_pki(&mut cfg, &PKI, &pki);
    let v = &mut cfg.verification;
    v.allow_any_skill = false;
    v.skill_ids = vec!["amzn1.ask.skill.roundtrip".to_owned()];
    v.timestamp_tolerance = Duration::from_secs(90);
    v.accept_legacy_sha1 = true;
    v.cert_fetch_timeout = Duration::from_millis(1200);
    v.cert_download_concurrency = 2;
    v.cert_failure_ttl = Duration::ZERO;

    redis_dedup(
        &mut cfg,
        "rediss://cache.internal:6380/2",
        "roundtrip:",
        Duration::from_millis(250),
    );

    queue_handler(
        &mut cfg,
        QueueBackend::Amqp(AmqpQueueConfig {
            url: secret_url(AMQP_URL),
            exchange: "alexa".to_owned(),
            routing_key: "messages".to_owned(),
        }),
    );
    let queue = cfg.handler.queue.as_mut().unwrap();
    queue.include_token = false;
    queue.max_in_flight = 7;
    cfg.handler.deadline = Duration::from_millis(4321);
    cfg.handler.webhook = Some(WebhookConfig {
        url: "https://hooks.internal/alexa?x=1".parse().unwrap(),
        secret: Some(WebhookSecret::parse(WEBHOOK_SECRET).unwrap()),
    });

    cfg.alexa_api.allowed_endpoints = vec!["https://api.eu.amazonalexa.com".to_owned()];
    cfg.alexa_api.timeout = Duration::from_millis(2500);
    cfg.log.format = LogFormat::Pretty;
    otlp_export(&mut cfg, "http://collector.internal:4318");
    cfg.telemetry.otlp.service_name = Some("roundtrip".to_owned());
    cfg.telemetry.otlp.sampling_ratio = Some(0.25);
    cfg
}

#[tokio::test]
async fn a_typed_config_written_redacted_loads_back_to_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = typed(dir.path());
    let text = cfg.redacted().to_string();
    assert!(
        !text.contains("s3cretPW") && !text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "{text}"
    );
    let file = dir.path().join("config.toml");
    std::fs::write(&file, &text).unwrap();

    let loaded =
        Config::load_with_env(Some(&file), secrets()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_same_values(&cfg, &loaded);
    assert_eq!(loaded.redacted().to_string(), text);
    // The secrets came from the variables.
    let webhook = loaded.handler.webhook.as_ref().unwrap();
    assert_eq!(
        webhook.secret.as_ref().unwrap().expose_key(),
        WebhookSecret::parse(WEBHOOK_SECRET).unwrap().expose_key()
    );
    let Some(QueueBackend::Amqp(amqp)) = loaded.handler.queue.as_ref().map(|q| &q.backend) else {
        panic!("not the amqp queue: {:?}", loaded.handler.queue);
    };
    assert_eq!(amqp.url.expose_str(), AMQP_URL);

    // `check-config` (which reads every file the config names) prints the
    // file back unchanged.
    let out = command()
        .args(["check-config", "--config"])
        .arg(&file)
        .envs(secrets())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text, "{stderr}");
}

#[test]
fn a_redacted_secret_without_its_variable_does_not_load() {
    let mut cfg = test_config();
    cfg.handler.webhook = Some(WebhookConfig {
        url: "https://hooks.internal/alexa".parse().unwrap(),
        secret: Some(WebhookSecret::parse(WEBHOOK_SECRET).unwrap()),
    });
    let text = cfg.redacted().to_string();
    assert!(text.contains("secret = \"[redacted]\""), "{text}");
    let err = Config::from_toml(&text).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { key, .. } if key == "handler.webhook.secret"),
        "{err}"
    );
}
