//! Cert chain validation (done once per download) and the cached result.
//!
//! A downloaded PEM chain (signing cert first, then intermediates) is
//! validated with rustls-webpki against the built-in web PKI roots plus
//! `extra_roots`, the signing cert must name `echo-api.amazon.com` among its
//! SAN DNS names, and every cert on the path must be inside its validity
//! dates. What is cached is a [`SigningCert`]: the leaf's parsed RSA public
//! key and the validity window of the path, so a cache hit costs two integer
//! comparisons plus one RSA verify — no PEM, no path building.

use std::path::Path;

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage};

use super::der;
use super::error::{VerifierInitError, VerifyError};

/// The DNS name Amazon's signing cert is issued to.
pub const SIGNING_CERT_SAN: &str = "echo-api.amazon.com";

/// The parsed, validated signing cert: what the cache holds.
pub(crate) struct SigningCert {
    /// The leaf's key for `Signature-256` (RSA PKCS#1 v1.5, SHA-256).
    key_sha256: ParsedPublicKey,
    /// The same key for the legacy SHA-1 `Signature`, only when enabled.
    key_sha1: Option<ParsedPublicKey>,
    /// Latest `notBefore` on the path, Unix seconds.
    not_before: i64,
    /// Earliest `notAfter` on the path, Unix seconds.
    not_after: i64,
}

impl SigningCert {
    /// Is the chain valid at `now`? Checked on every use, cache hit or not.
    ///
    /// Inclusive at both ends, like webpki: valid iff
    /// `notBefore <= now <= notAfter` at one-second resolution.
    pub(crate) fn check_validity(&self, now: OffsetDateTime) -> Result<(), VerifyError> {
        let now = now.unix_timestamp();
        if now < self.not_before {
            Err(VerifyError::CertNotYetValid)
        } else if now > self.not_after {
            Err(VerifyError::CertExpired)
        } else {
            Ok(())
        }
    }

    /// Verify an RSA PKCS#1 v1.5 SHA-256 signature over `body`.
    pub(crate) fn verify_sha256(&self, body: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        self.key_sha256
            .verify_sig(body, signature)
            .map_err(|_| VerifyError::SignatureMismatch)
    }

    /// Verify a legacy RSA PKCS#1 v1.5 SHA-1 signature over `body`.
    pub(crate) fn verify_sha1(&self, body: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        match &self.key_sha1 {
            Some(key) => key
                .verify_sig(body, signature)
                .map_err(|_| VerifyError::SignatureMismatch),
            None => Err(VerifyError::LegacySignatureNotAccepted),
        }
    }
}

/// The trust anchors: webpki-roots plus the PEM certs in `extra_roots`.
pub(crate) fn trust_anchors(
    extra_roots: Option<&Path>,
) -> Result<Vec<TrustAnchor<'static>>, VerifierInitError> {
    let mut anchors = webpki_roots::TLS_SERVER_ROOTS.to_vec();
    if let Some(path) = extra_roots {
        const KEY: &str = "verification.extra_roots";
        let pem = std::fs::read(path).map_err(|e| {
            VerifierInitError::new(KEY, format!("cannot read {}: {e}", path.display()))
        })?;
        let before = anchors.len();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                VerifierInitError::new(KEY, format!("{}: bad PEM: {e}", path.display()))
            })?;
            let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
                VerifierInitError::new(KEY, format!("{}: bad certificate: {e}", path.display()))
            })?;
            anchors.push(anchor.to_owned());
        }
        if anchors.len() == before {
            return Err(VerifierInitError::new(
                KEY,
                format!("{}: no CERTIFICATE in the file", path.display()),
            ));
        }
    }
    Ok(anchors)
}

/// Parse and validate a PEM chain at `now`.
pub(crate) fn validate_chain(
    pem: &[u8],
    anchors: &[TrustAnchor<'_>],
    now: OffsetDateTime,
    accept_legacy_sha1: bool,
) -> Result<SigningCert, VerifyError> {
    let invalid = |why: String| VerifyError::CertChainInvalid(why);
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("not a PEM chain: {e}")))?;
    let (leaf, intermediates) = certs
        .split_first()
        .ok_or_else(|| invalid("no certificate in the PEM".into()))?;
    let leaf = EndEntityCert::try_from(leaf)
        .map_err(|e| invalid(format!("signing certificate does not parse: {e}")))?;

    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    // serverAuth is required only if the cert carries an EKU extension at all
    // (RFC 5280); Amazon's cert is a web PKI server cert.
    let path = leaf
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            anchors,
            intermediates,
            time,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| match e {
            webpki::Error::CertExpired { .. } => VerifyError::CertExpired,
            webpki::Error::CertNotValidYet { .. } => VerifyError::CertNotYetValid,
            other => invalid(format!("{other}")),
        })?;

    // Exact SAN entry, as Amazon documents: a wildcard such as *.amazon.com
    // would pass a TLS name check but is not "echo-api.amazon.com".
    if !leaf
        .valid_dns_names()
        .any(|name| name.eq_ignore_ascii_case(SIGNING_CERT_SAN))
    {
        return Err(VerifyError::CertSubjectMismatch);
    }

    let mut window = (i64::MIN, i64::MAX);
    let path_certs =
        std::iter::once(leaf.der()).chain(path.intermediate_certificates().map(|c| c.der()));
    for der in path_certs {
        let (nb, na) =
            der::validity(&der).ok_or_else(|| invalid("unreadable validity dates".into()))?;
        window = (window.0.max(nb), window.1.min(na));
    }

    let spki = leaf.subject_public_key_info();
    let key_sha256 = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref())
        .map_err(|e| invalid(format!("signing key is not an RSA key: {e}")))?;
    let key_sha1 = if accept_legacy_sha1 {
        Some(
            ParsedPublicKey::new(&RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, spki.as_ref())
                .map_err(|e| invalid(format!("signing key is not an RSA key: {e}")))?,
        )
    } else {
        None
    };
    Ok(SigningCert {
        key_sha256,
        key_sha1,
        not_before: window.0,
        not_after: window.1,
    })
}
