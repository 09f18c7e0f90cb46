//! Request verification: is this request from Alexa, for this skill, now?
//!
//! A plain type with no web framework in it. The server calls
//! [`Verifier::verify_signature`] on the raw body bytes *before* parsing, then
//! [`Verifier::check_request`] on the parsed envelope's fields.
//!
//! INTERFACE CONTRACT (stub — to be implemented in full by the verify work).

use std::sync::Arc;

use http::HeaderMap;
use time::OffsetDateTime;

use crate::config::VerificationConfig;

/// Why a request was rejected. Every variant answers 400 except
/// [`VerifyError::CertDownload`], which answers 503 (Alexa retries).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// `SignatureCertChainUrl` header absent.
    #[error("SignatureCertChainUrl header is missing")]
    MissingCertUrl,
    /// Neither `Signature-256` (nor, when allowed, `Signature`) present.
    #[error("signature header is missing")]
    MissingSignature,
    /// The cert chain could not be downloaded (network, upstream 5xx, timeout).
    #[error("cert chain download failed: {0}")]
    CertDownload(String),
    /// Timestamp older or newer than the tolerance.
    #[error("timestamp outside tolerance")]
    StaleTimestamp,
}

impl VerifyError {
    /// Machine-readable reason for the JSON error body and metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::MissingCertUrl => "missing_cert_url",
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::CertDownload(_) => "cert_download_failed",
            VerifyError::StaleTimestamp => "timestamp_out_of_tolerance",
        }
    }

    /// True when the failure is transient (503: Alexa retries), false for 400.
    pub fn is_transient(&self) -> bool {
        matches!(self, VerifyError::CertDownload(_))
    }
}

/// Start-up error of the verifier (bad `extra_roots` file, ...).
#[derive(Debug, thiserror::Error)]
#[error("verification: `{key}`: {reason}")]
pub struct VerifierInitError {
    /// Config key at fault.
    pub key: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Verifies Alexa requests; cheap to share (`Arc`).
pub struct Verifier {
    _cfg: VerificationConfig,
}

impl Verifier {
    /// Build from config with the production HTTPS cert source.
    pub fn from_config(cfg: &VerificationConfig) -> Result<Arc<Self>, VerifierInitError> {
        Ok(Arc::new(Self { _cfg: cfg.clone() }))
    }

    /// Signature + cert chain over the raw body (async: may download the chain).
    pub async fn verify_signature(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        Ok(())
    }

    /// Cert cache counters.
    pub fn cert_stats(&self) -> CertStoreStats {
        CertStoreStats::default()
    }

    /// Timestamp and skill id, from the parsed request.
    pub fn check_request(
        &self,
        _request_type: &str,
        _timestamp: OffsetDateTime,
        _skill_id: Option<&str>,
        _now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        Ok(())
    }
}

/// Snapshot of the cert store counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct CertStoreStats {
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
    /// Downloads.
    pub downloads: u64,
    /// Failed downloads.
    pub download_errors: u64,
}
