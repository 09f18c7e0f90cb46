//! Typed configuration: embedded secure defaults, then a TOML file, then
//! `ALEXA_ENDPOINT_<SECTION>__<KEY>` environment variables.
//!
//! Each component owns its section type (`[server]` in `server`,
//! `[dedup]` in `dedup`, ...); this module aggregates them, layers the
//! sources, and reports errors. Values are parsed into domain types at load:
//! `_ms` / `_secs` keys into [`Duration`](std::time::Duration)s, URLs that
//! may carry credentials into [`SecretUrl`]s, the webhook secret into its
//! decoded key, `[dedup]` into one variant per backend
//! ([`DedupStoreConfig`]), relative paths in the file resolved against
//! the file's directory. Every number is bounded. An error names the key and
//! where its value came from ([`ConfigError`]); [`Config::preflight`] checks
//! the files the values name.

mod error;
mod layers;
mod log;
pub mod redact;
mod secret_url;
pub(crate) mod units;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::api::AlexaApiConfig;
pub use crate::dedup::{
    DedupBackend, DedupConfig, DedupStoreConfig, MemoryDedupConfig, OnStoreError, RedisDedupConfig,
    RedisTarget,
};
pub use crate::handlers::queue::{
    AmqpQueueConfig, NatsQueueConfig, QueueBackend, QueueConfig, RedisStreamQueueConfig,
};
pub use crate::handlers::webhook::{WebhookConfig, WebhookSecret};
pub use crate::handlers::{HandlerConfig, HandlerKind};
pub use crate::server::{ServerConfig, TlsConfig};
pub use crate::verify::VerificationConfig;
pub(crate) use error::Problem;
pub use error::{ConfigError, ConfigWarning, ValueSource};
pub use log::{LogConfig, LogFormat};
pub use redact::redact_url;
pub use secret_url::{SecretUrl, SecretUrlError};

use layers::{Layers, Sources};

/// The secure production defaults, compiled into the binary.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Prefix of environment overrides: `ALEXA_ENDPOINT_SERVER__LISTEN=...`.
pub const ENV_PREFIX: &str = "ALEXA_ENDPOINT";

/// The whole configuration of an endpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener, path, limits, TLS.
    pub server: ServerConfig,
    /// Request verification (signature, cert chain, timestamp, skill id).
    pub verification: VerificationConfig,
    /// De-duplication of `Messaging.MessageReceived` by `requestId`.
    pub dedup: DedupConfig,
    /// Built-in handler of the binary and the handler deadline.
    pub handler: HandlerConfig,
    /// Outbound calls to Alexa's REST APIs.
    pub alexa_api: AlexaApiConfig,
    /// Log output.
    pub log: LogConfig,
    /// Trace export (`[telemetry.otlp]`); off unless an endpoint is set.
    #[serde(default)]
    pub telemetry: crate::telemetry::TelemetryConfig,
    /// Where each value came from, for errors.
    #[serde(skip)]
    sources: Sources,
}

impl Config {
    /// Load embedded defaults, then `file` (if any), then environment overrides,
    /// and validate the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut layers = defaults();
        if let Some(file) = file {
            layers.add_file(file)?;
        }
        layers.add_env(env);
        Self::build(layers)
    }

    /// Parse a TOML document layered over the embedded defaults (no environment).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let mut layers = defaults();
        layers.add_toml(text, ValueSource::Text, None)?;
        Self::build(layers)
    }

    fn build(layers: Layers) -> Result<Self, ConfigError> {
        let (mut cfg, sources): (Config, Sources) = layers.deserialize()?;
        cfg.sources = sources;
        cfg.remember_loaded();
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every rule that serde alone cannot express (bounds, rules
    /// between keys). Files are checked by [`Config::preflight`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .validate()
            .and_then(|()| self.verification.validate())
            .and_then(|()| self.dedup.validate())
            .and_then(|()| self.handler.validate())
            .and_then(|()| self.alexa_api.validate())
            .and_then(|()| {
                self.telemetry.validate().map_err(|e| match e {
                    crate::telemetry::OtlpError::Invalid { key, reason } => {
                        Problem::new(key, reason)
                    }
                    other => Problem::new("telemetry.otlp", other.to_string()),
                })
            })
            .map_err(|problem| self.error(problem))
    }

    /// A [`ConfigError`] for `problem`, naming where the key's value came from.
    pub(crate) fn error(&self, problem: Problem) -> ConfigError {
        ConfigError::Invalid {
            source_of_value: self.source_of(&problem.key),
            key: problem.key,
            reason: problem.reason,
        }
    }

    /// Where the value of a dotted key came from: the defaults, the file, an
    /// environment variable, or [`ValueSource::Code`] when it was changed
    /// in code after loading (the fields are public).
    pub fn source_of(&self, key: &str) -> ValueSource {
        let changed =
            serde_json::to_value(self).is_ok_and(|now| self.sources.changed_since_load(key, &now));
        if changed {
            ValueSource::Code
        } else {
            self.sources.of_key(key)
        }
    }

    fn remember_loaded(&mut self) {
        let values = serde_json::to_value(&*self).ok();
        self.sources.remember_loaded(values);
    }

    /// The effective configuration, secrets redacted: displays as TOML (what
    /// `check-config` prints). Every URL-typed key goes through
    /// [`redact_url`]; secrets show as `[redacted]`. `[dedup]` shows the
    /// keys of the selected backend only.
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(self)
    }
}

/// [`Config::redacted`]: the configuration as TOML, secrets redacted.
pub struct Redacted<'a>(&'a Config);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The section types serialize secrets redacted; there is no other
        // serialization of them.
        match toml::to_string_pretty(self.0) {
            Ok(text) => f.write_str(&text),
            Err(e) => write!(f, "# cannot render: {e}"),
        }
    }
}

fn defaults() -> Layers {
    let mut layers = Layers::default();
    if let Err(e) = layers.add_toml(DEFAULT_TOML, ValueSource::Default, None) {
        panic!("embedded default config is not TOML: {e}");
    }
    layers
}

impl Default for Config {
    /// The embedded defaults with verification off: handy for tests and
    /// examples. Production code should use [`Config::load`].
    fn default() -> Self {
        let mut layers = defaults();
        if let Err(e) = layers.add_toml(
            "[verification]\nenabled = false",
            ValueSource::Default,
            None,
        ) {
            panic!("embedded default config is invalid: {e}");
        }
        match layers.deserialize::<Config>() {
            Ok((mut cfg, sources)) => {
                cfg.sources = sources;
                cfg.remember_loaded();
                cfg
            }
            Err(e) => panic!("embedded default config is invalid: {e}"),
        }
    }
}
