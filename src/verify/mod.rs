//! Request verification: is this request from Alexa, for this skill, now?
//!
//! A plain type with no web framework in it. The server calls
//! [`Verifier::verify_signature`] on the raw body bytes *before* parsing, then
//! [`Verifier::check_request`] on the parsed envelope's fields. Library users
//! without their own envelope types can call [`Verifier::verify`], which does
//! both.
//!
//! The rules are Amazon's (see the README's verification section); where the
//! official SDKs differ, this module follows the documentation: the cert URL
//! path is checked after dot-segment removal (also percent-encoded), chain
//! validity is re-checked on every cache hit, the chain must lead to a
//! trusted root, the timestamp is checked in both directions, and a skill id
//! mismatch is a 400, not a 500.
//!
//! `verification.enabled = false` is the caller's business: it simply does
//! not call the verifier.

mod cert_store;
mod cert_url;
mod chain;
mod config;
mod der;
mod error;
mod request_checks;
mod signature;
mod source;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use time::OffsetDateTime;

use crate::envelope::RequestKind;

pub use cert_store::CertStoreStats;
pub use cert_url::{validate_cert_url, CertUrlError, CERT_URL_HOST, CERT_URL_PATH_PREFIX};
pub use chain::SIGNING_CERT_SAN;
pub use config::VerificationConfig;
pub use error::{VerifierInitError, VerifyError};
pub use signature::{CERT_URL_HEADER, SIGNATURE_256_HEADER, SIGNATURE_SHA1_HEADER};
pub use source::{CertSource, FetchError, HttpsCertSource, MAX_CERT_CHAIN_BYTES};

use cert_store::{CertStore, DownloadLimits};
use request_checks::{RequestFacts, RequestRules};
use signature::{Digest, SignedHeaders};

/// What [`Verifier::verify`] read from a request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `request.type`, e.g. `Messaging.MessageReceived`.
    pub request_type: String,
    /// `request.timestamp`.
    pub timestamp: OffsetDateTime,
    /// The skill id (context first, then session), if the request had one.
    pub skill_id: Option<String>,
}

/// Verifies Alexa requests; `Send + Sync`, shared as `Arc`.
pub struct Verifier {
    rules: RequestRules,
    accept_legacy_sha1: bool,
    /// Preloaded chains that are not valid at start-up (logged; shown by
    /// `check-config`).
    preload_warnings: Vec<String>,
    store: CertStore,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("rules", &self.rules)
            .field("accept_legacy_sha1", &self.accept_legacy_sha1)
            .field("cert_stats", &self.cert_stats())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Build from config with the production [`HttpsCertSource`].
    ///
    /// Fails on an unreadable or empty `extra_roots` file, an unreadable
    /// preloaded cert file, or a preloaded cert URL that breaks the cert URL
    /// rules. An invalid or expired preloaded *chain* only logs a warning:
    /// it is validated when used, like a downloaded one.
    pub fn from_config(cfg: &VerificationConfig) -> Result<Arc<Self>, VerifierInitError> {
        Self::with_source(cfg, Arc::new(HttpsCertSource::new(cfg.cert_fetch_timeout)?))
    }

    /// Preloaded chains that were not valid at start-up (each also logged
    /// as a warning): they stay loaded and requests using them are rejected
    /// while they stay invalid.
    pub(crate) fn preload_warnings(&self) -> &[String] {
        &self.preload_warnings
    }

    /// Like [`Verifier::from_config`] with another cert source (tests).
    pub fn with_source(
        cfg: &VerificationConfig,
        source: Arc<dyn CertSource>,
    ) -> Result<Arc<Self>, VerifierInitError> {
        let anchors = chain::trust_anchors(cfg.extra_roots.as_deref())?;
        let mut preloaded = HashMap::new();
        let now = OffsetDateTime::now_utc();
        let mut preload_warnings = Vec::new();
        for (raw_url, path) in &cfg.preloaded_certs {
            const KEY: &str = "verification.preloaded_certs";
            let url = validate_cert_url(raw_url).map_err(|e| {
                VerifierInitError::new(KEY, format!("{raw_url:?} is not an allowed cert URL: {e}"))
            })?;
            let pem = std::fs::read(path).map_err(|e| {
                VerifierInitError::new(KEY, format!("cannot read {}: {e}", path.display()))
            })?;
            if let Err(e) = chain::validate_chain(&pem, &anchors, now, cfg.accept_legacy_sha1) {
                tracing::warn!(
                    cert_url = %url,
                    file = %path.display(),
                    reason = e.reason(),
                    error = %e,
                    "preloaded cert chain is not valid now; requests using it are rejected while it stays invalid"
                );
                preload_warnings.push(format!(
                    "{raw_url:?} = {}: the chain is not valid now ({e}); requests using it are \
                     rejected while it stays invalid",
                    path.display()
                ));
            }
            preloaded.insert(url.to_string(), Bytes::from(pem));
        }
        Ok(Arc::new(Self {
            rules: RequestRules {
                tolerance: cfg.timestamp_tolerance,
                skill_ids: cfg.skill_ids.clone(),
                allow_any_skill: cfg.allow_any_skill,
            },
            accept_legacy_sha1: cfg.accept_legacy_sha1,
            preload_warnings,
            store: CertStore::new(
                source,
                preloaded,
                anchors,
                cfg.accept_legacy_sha1,
                DownloadLimits {
                    concurrency: cfg.cert_download_concurrency,
                    failure_ttl: cfg.cert_failure_ttl,
                },
            ),
        }))
    }

    /// Signature and cert chain over the raw body (async: may download the
    /// chain).
    ///
    /// Order: headers present → cert URL rules → signature is base64 →
    /// cached or downloaded chain → chain valid at `now` → RSA signature over
    /// `body`. Nothing is fetched for a request that fails an earlier step,
    /// nor for a URL whose download failed within `cert_failure_ttl_secs`
    /// (the same answer again), nor while `cert_download_concurrency`
    /// downloads are running ([`VerifyError::CertDownloadsSaturated`], 503).
    pub async fn verify_signature(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let signed = SignedHeaders::from_headers(headers, self.accept_legacy_sha1)?;
        let url = validate_cert_url(signed.cert_url).map_err(VerifyError::CertUrl)?;
        let signature = signed.signature()?;
        let cert = self.store.get(&url, now).await?;
        cert.check_validity(now)?;
        match signed.digest {
            Digest::Sha256 => cert.verify_sha256(body, &signature),
            Digest::Sha1 => cert.verify_sha1(body, &signature),
        }
    }

    /// Timestamp and skill id, from the parsed request.
    ///
    /// `|now - timestamp|` must be within `timestamp_tolerance_secs` (at least
    /// [`LATE_TOLERANCE`](crate::envelope::LATE_TOLERANCE) for the kinds
    /// Amazon delivers late, [`RequestKind::is_delivered_late`]); `skill_id`
    /// (the caller extracts it: context, then session) must be in `skill_ids`
    /// unless `allow_any_skill`.
    pub fn check_request(
        &self,
        kind: RequestKind,
        timestamp: OffsetDateTime,
        skill_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        self.rules.check(kind, timestamp, skill_id, now)
    }

    /// Everything in one call, for library users: [`Verifier::verify_signature`],
    /// then a minimal parse of `request.type`, `request.timestamp` and the
    /// skill id, then [`Verifier::check_request`].
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Verified, VerifyError> {
        self.verify_signature(headers, body, now).await?;
        let facts = RequestFacts::parse(body)?;
        self.check_request(
            RequestKind::from_wire(&facts.request_type),
            facts.timestamp,
            facts.skill_id.as_deref(),
            now,
        )?;
        Ok(Verified {
            request_type: facts.request_type.into_owned(),
            timestamp: facts.timestamp,
            skill_id: facts.skill_id,
        })
    }

    /// A snapshot of the cert cache counters.
    pub fn cert_stats(&self) -> CertStoreStats {
        self.store.stats()
    }
}
