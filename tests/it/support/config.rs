//! Typed pieces of the configs the tests start the binary with: each sets
//! fields of a [`Config`] (start from `helpers::test_config()`), never
//! writes TOML. `ServeProcess` writes the result as `check-config` prints it.

use std::path::Path;
use std::time::Duration;

use alexa_endpoint::config::{
    Config, DedupStoreConfig, HandlerKind, OnStoreError, QueueBackend, QueueConfig,
    RedisDedupConfig, RedisTarget, SecretUrl, WebhookConfig,
};
use alexa_endpoint::dev::pki::files;
use alexa_endpoint::dev::TestPki;

/// Redis dedup at `url` under `key_prefix`, every store call bounded by
/// `store_timeout`, a store outage answered 503 (`reject`). The one place a
/// process test sets the dedup backend's keys.
pub fn redis_dedup(cfg: &mut Config, url: &str, key_prefix: &str, store_timeout: Duration) {
    cfg.dedup.store = DedupStoreConfig::Redis(RedisDedupConfig {
        target: RedisTarget::Single(SecretUrl::parse(url).expect("a Redis URL")),
        tls_ca: None,
        key_prefix: key_prefix.to_owned(),
    });
    cfg.dedup.store_timeout = store_timeout;
    cfg.dedup.on_store_error = OnStoreError::Reject;
}

/// The built-in `webhook` handler POSTing to `url`, unsigned. (A secret
/// would be written `[redacted]`: pass it as
/// `ALEXA_ENDPOINT_HANDLER__WEBHOOK__SECRET`.)
pub fn webhook_handler(cfg: &mut Config, url: &str) {
    cfg.handler.kind = HandlerKind::Webhook;
    cfg.handler.webhook = Some(WebhookConfig {
        url: url.parse().expect("a webhook URL"),
        secret: None,
    });
}

/// The built-in `queue` handler publishing to `backend`, with the token in
/// the payload and the default bound on publishes in flight. (A password in
/// the URL is written `[redacted]`: pass the URL as
/// `ALEXA_ENDPOINT_HANDLER__QUEUE__URL`.)
pub fn queue_handler(cfg: &mut Config, backend: QueueBackend) {
    cfg.handler.kind = HandlerKind::Queue;
    cfg.handler.queue = Some(QueueConfig {
        include_token: true,
        max_in_flight: 1024,
        backend,
    });
}

/// Full verification trusting `pki` as `dev pki` configures it: its root
/// as `extra_roots`, its chain preloaded under its cert URL, any skill id.
/// `dir` is where [`TestPki::write_to`] wrote the files.
pub fn trust_dev_pki(cfg: &mut Config, pki: &TestPki, dir: &Path) {
    let v = &mut cfg.verification;
    v.enabled = true;
    v.allow_any_skill = true;
    v.extra_roots = Some(dir.join(files::ROOT));
    v.preloaded_certs = [(pki.cert_url().to_owned(), dir.join(files::CHAIN))].into();
}

/// Trace export to `endpoint` (`http://host:port`: `/v1/traces` is appended).
pub fn otlp_export(cfg: &mut Config, endpoint: &str) {
    cfg.telemetry.otlp.endpoint = Some(endpoint.parse().expect("an OTLP endpoint URL"));
}

/// `loaded` (`written` after a trip through a config file) holds the same
/// values in every section; secrets are not compared (`Debug` shows them
/// redacted).
pub fn assert_same_values(written: &Config, loaded: &Config) {
    let sections = |c: &Config| {
        [
            ("server", format!("{:?}", c.server)),
            ("verification", format!("{:?}", c.verification)),
            ("dedup", format!("{:?}", c.dedup)),
            ("handler", format!("{:?}", c.handler)),
            ("alexa_api", format!("{:?}", c.alexa_api)),
            ("log", format!("{:?}", c.log)),
            ("telemetry", format!("{:?}", c.telemetry)),
        ]
    };
    for ((name, w), (_, l)) in sections(written).into_iter().zip(sections(loaded)) {
        assert_eq!(w, l, "[{name}] changed on the way through the config file");
    }
}
