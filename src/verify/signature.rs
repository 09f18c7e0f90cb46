//! The signature headers: which one applies, and decoding it.

use base64::Engine as _;
use http::{HeaderMap, HeaderName};

use super::error::VerifyError;

/// Header carrying the cert chain URL.
pub const CERT_URL_HEADER: HeaderName = HeaderName::from_static("signaturecertchainurl");
/// Header carrying base64 RSA PKCS#1 v1.5 SHA-256 over the raw body.
pub const SIGNATURE_256_HEADER: HeaderName = HeaderName::from_static("signature-256");
/// Legacy header carrying base64 RSA PKCS#1 v1.5 SHA-1 over the raw body.
pub const SIGNATURE_SHA1_HEADER: HeaderName = HeaderName::from_static("signature");

/// Base64 of an 8192-bit signature is 1368 characters; allow whitespace slack.
const MAX_SIGNATURE_B64_LEN: usize = 1400;

/// Which digest the request was signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha256,
    Sha1,
}

/// The headers of a signed request, before any crypto.
pub(crate) struct SignedHeaders<'a> {
    pub(crate) cert_url: &'a str,
    pub(crate) digest: Digest,
    signature_b64: &'a [u8],
}

impl<'a> SignedHeaders<'a> {
    /// Pick the headers: `Signature-256`, else (only when allowed) the
    /// legacy `Signature`.
    pub(crate) fn from_headers(
        headers: &'a HeaderMap,
        accept_legacy_sha1: bool,
    ) -> Result<Self, VerifyError> {
        let cert_url = headers
            .get(CERT_URL_HEADER)
            .ok_or(VerifyError::MissingCertUrl)?;
        let cert_url = cert_url
            .to_str()
            .map_err(|_| VerifyError::CertUrl(super::CertUrlError::Unparseable))?;
        let (digest, value) = match (
            headers.get(SIGNATURE_256_HEADER),
            headers.get(SIGNATURE_SHA1_HEADER),
        ) {
            (Some(v), _) => (Digest::Sha256, v),
            (None, Some(v)) if accept_legacy_sha1 => (Digest::Sha1, v),
            (None, Some(_)) => return Err(VerifyError::LegacySignatureNotAccepted),
            (None, None) => return Err(VerifyError::MissingSignature),
        };
        Ok(Self {
            cert_url,
            digest,
            signature_b64: value.as_bytes(),
        })
    }

    /// Decode the base64 signature (standard alphabet, padded).
    pub(crate) fn signature(&self) -> Result<Vec<u8>, VerifyError> {
        let b64 = self.signature_b64.trim_ascii();
        if b64.is_empty() || b64.len() > MAX_SIGNATURE_B64_LEN {
            return Err(VerifyError::SignatureEncoding);
        }
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| VerifyError::SignatureEncoding)
    }
}
