//! Why a request was rejected, and why the verifier could not start.

use super::cert_url::CertUrlError;

/// Why a request was rejected: one variant per reason.
///
/// Every variant answers 400 except [`VerifyError::CertDownload`] and
/// [`VerifyError::CertDownloadsSaturated`], which answer 503 so that Alexa
/// retries. [`VerifyError::reason`] is the machine-readable reason for the
/// JSON error body and the metrics label. Messages never contain a token, a
/// signature, an address or upstream error text (those go to the log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `SignatureCertChainUrl` header absent.
    #[error("SignatureCertChainUrl header is missing")]
    MissingCertUrl,
    /// Neither `Signature-256` (nor, when allowed, `Signature`) present.
    #[error("signature header is missing")]
    MissingSignature,
    /// Only the legacy SHA-1 `Signature` header was sent and
    /// `verification.accept_legacy_sha1` is false.
    #[error("only the legacy SHA-1 Signature header was sent, and it is not accepted")]
    LegacySignatureNotAccepted,
    /// The signature header is not base64 of a plausible RSA signature.
    #[error("signature header is not valid base64")]
    SignatureEncoding,
    /// The cert URL breaks Amazon's rules (scheme, host, port, path).
    #[error("SignatureCertChainUrl not allowed: {0}")]
    CertUrl(CertUrlError),
    /// The cert chain could not be downloaded (network, upstream 5xx,
    /// timeout); the payload is a short summary such as `HTTP 503` or
    /// `timed out`, never upstream error text.
    #[error("cert chain download failed ({0})")]
    CertDownload(String),
    /// The cert server answered a 4xx (other than 408/429) with this status:
    /// the request names a chain that does not exist.
    #[error("cert chain not found at the cert URL (HTTP {0})")]
    CertNotFound(u16),
    /// `verification.cert_download_concurrency` downloads are already
    /// running; answered at once instead of queueing.
    #[error("too many cert chain downloads in progress")]
    CertDownloadsSaturated,
    /// The chain is not PEM, does not parse, or does not lead to a trusted root.
    #[error("cert chain invalid: {0}")]
    CertChainInvalid(String),
    /// The signing cert (or an intermediate) is past its `notAfter`.
    #[error("signing certificate has expired")]
    CertExpired,
    /// The signing cert (or an intermediate) is before its `notBefore`.
    #[error("signing certificate is not yet valid")]
    CertNotYetValid,
    /// `echo-api.amazon.com` is not among the signing cert's SAN DNS names.
    #[error("signing certificate is not issued to echo-api.amazon.com")]
    CertSubjectMismatch,
    /// The RSA signature does not match the body under the signing cert's key.
    #[error("signature does not match the request body")]
    SignatureMismatch,
    /// Timestamp older or newer than the tolerance.
    #[error("timestamp outside tolerance")]
    StaleTimestamp,
    /// No skill id in the request, and `skill_ids` is configured.
    #[error("skill id missing from the request")]
    SkillIdMissing,
    /// The request's skill id is not in `verification.skill_ids`.
    #[error("skill id not allowed")]
    SkillIdNotAllowed,
    /// [`Verifier::verify`](super::Verifier::verify) could not read
    /// `request.type` / `request.timestamp` from the body.
    #[error("malformed request: {0}")]
    MalformedRequest(String),
}

impl VerifyError {
    /// Machine-readable reason for the JSON error body and metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::MissingCertUrl => "missing_cert_url",
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::LegacySignatureNotAccepted => "legacy_signature_not_accepted",
            VerifyError::SignatureEncoding => "signature_not_base64",
            VerifyError::CertUrl(_) => "cert_url_not_allowed",
            VerifyError::CertDownload(_) => "cert_download_failed",
            VerifyError::CertNotFound(_) => "cert_not_found",
            VerifyError::CertDownloadsSaturated => "cert_downloads_saturated",
            VerifyError::CertChainInvalid(_) => "cert_chain_invalid",
            VerifyError::CertExpired => "cert_expired",
            VerifyError::CertNotYetValid => "cert_not_yet_valid",
            VerifyError::CertSubjectMismatch => "cert_subject_mismatch",
            VerifyError::SignatureMismatch => "signature_mismatch",
            VerifyError::StaleTimestamp => "timestamp_out_of_tolerance",
            VerifyError::SkillIdMissing => "skill_id_missing",
            VerifyError::SkillIdNotAllowed => "skill_id_not_allowed",
            VerifyError::MalformedRequest(_) => "malformed_request",
        }
    }

    /// True when the failure is transient (503: Alexa retries), false for 400.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            VerifyError::CertDownload(_) | VerifyError::CertDownloadsSaturated
        )
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

impl VerifierInitError {
    pub(crate) fn new(key: &'static str, reason: impl Into<String>) -> Self {
        Self {
            key,
            reason: reason.into(),
        }
    }
}
