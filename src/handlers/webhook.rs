//! The `webhook` handler (stub).

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// Decode a Standard Webhooks secret: base64, optionally prefixed `whsec_`.
pub fn decode_secret(secret: &SecretString) -> Result<Vec<u8>, base64::DecodeError> {
    let s = secret.expose_secret();
    let s = s.strip_prefix("whsec_").unwrap_or(s);
    base64::engine::general_purpose::STANDARD.decode(s)
}
