//! `[handler.webhook]` and its signing secret, decoded once at load.

use std::sync::Arc;

use base64::Engine;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::{redact, SecretUrl};

/// `[handler.webhook]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where messages are POSTed (credentials redacted in output).
    pub url: SecretUrl,
    /// Standard Webhooks signing secret (`whsec_<base64>`), optional.
    #[serde(default, serialize_with = "redact::serialize_opt_secret")]
    pub secret: Option<WebhookSecret>,
}

/// A Standard Webhooks signing key: written as base64, optionally prefixed
/// `whsec_`, held decoded. Never shown by `Debug` or serialization.
#[derive(Clone)]
pub struct WebhookSecret(Arc<SecretSlice<u8>>);

/// What is wrong with a webhook secret's text.
const SECRET_FORMAT: &str = "must be base64, optionally prefixed with whsec_";

impl WebhookSecret {
    /// Decode `whsec_<base64>` or `<base64>`.
    pub fn parse(text: &str) -> Result<Self, base64::DecodeError> {
        let text = text.strip_prefix("whsec_").unwrap_or(text);
        let key = base64::engine::general_purpose::STANDARD.decode(text)?;
        Ok(Self(Arc::new(SecretSlice::from(key))))
    }

    /// The key bytes, for signing.
    pub fn expose_key(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl<'de> Deserialize<'de> for WebhookSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = SecretString::deserialize(d)?;
        Self::parse(text.expose_secret()).map_err(|_| serde::de::Error::custom(SECRET_FORMAT))
    }
}
