//! Signing request bodies with a [`TestPki`], the way Alexa signs them.

use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{DevError, TestPki};
use crate::verify::{CERT_URL_HEADER, SIGNATURE_256_HEADER};

/// The two headers Alexa sends with every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `SignatureCertChainUrl`.
    pub cert_url: String,
    /// `Signature-256`: base64 RSA PKCS#1 v1.5 SHA-256 over the body.
    pub signature_256: String,
}

impl SignedHeaders {
    /// As an [`http::HeaderMap`] (a value that is not a valid header value
    /// is left out, and verification then reports it missing).
    pub fn header_map(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&self.cert_url) {
            headers.insert(CERT_URL_HEADER, v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.signature_256) {
            headers.insert(SIGNATURE_256_HEADER, v);
        }
        headers
    }

    /// A ready-to-paste curl command POSTing `body` to `endpoint`
    /// (`--data-binary`, so the bytes sent are the bytes signed).
    pub fn curl_command(&self, endpoint: &str, body: &[u8]) -> String {
        format!(
            "curl -sS -i -X POST {} \\\n  -H 'Content-Type: application/json' \\\n  -H {} \\\n  -H {} \\\n  --data-binary {}",
            shell_quote(endpoint),
            shell_quote(&format!("SignatureCertChainUrl: {}", self.cert_url)),
            shell_quote(&format!("Signature-256: {}", self.signature_256)),
            shell_quote(&String::from_utf8_lossy(body)),
        )
    }
}

/// Sign `body` (the exact bytes that will be sent) with the PKI's leaf key.
pub fn sign_body(pki: &TestPki, body: &[u8]) -> Result<SignedHeaders, DevError> {
    let signature = pki.sign_sha256(body)?;
    Ok(SignedHeaders {
        cert_url: pki.cert_url().to_owned(),
        signature_256: base64::engine::general_purpose::STANDARD.encode(signature),
    })
}

/// Set `request.timestamp` to `now` (RFC 3339, whole seconds, UTC) and, if
/// given, `request.requestId`; returns the compact JSON to sign and send.
pub fn refresh_timestamp(
    body_json: &[u8],
    now: OffsetDateTime,
    request_id: Option<&str>,
) -> Result<Vec<u8>, DevError> {
    let mut value: serde_json::Value = serde_json::from_slice(body_json)
        .map_err(|e| DevError::Format(format!("body is not JSON: {e}")))?;
    let request = value
        .get_mut("request")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or_else(|| DevError::Format("body has no \"request\" object".into()))?;
    let now = now
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|_| DevError::Format("bad time".into()))?;
    let stamp = now
        .format(&Rfc3339)
        .map_err(|e| DevError::Format(format!("cannot format timestamp: {e}")))?;
    request.insert("timestamp".into(), stamp.into());
    if let Some(id) = request_id {
        request.insert("requestId".into(), id.into());
    }
    serde_json::to_vec(&value).map_err(|e| DevError::Format(e.to_string()))
}

/// Quote `s` for a POSIX shell (single quotes; `'` becomes `'\''`).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn timestamp_is_replaced() {
        let now = time::macros::datetime!(2024-05-06 07:08:09.5 UTC);
        let out = refresh_timestamp(
            br#"{"request":{"type":"X","timestamp":"old"}}"#,
            now,
            Some("id-1"),
        )
        .expect("refresh");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["request"]["timestamp"], "2024-05-06T07:08:09Z");
        assert_eq!(v["request"]["requestId"], "id-1");
        assert!(refresh_timestamp(b"[]", now, None).is_err());
    }
}
