//! Bounded cache of validated signing certs, keyed by normalised cert URL,
//! with single-flight loading from preloaded files or a [`CertSource`].
//!
//! Two levels: a read-mostly front map answers hits (one uncontended read
//! lock and a hash look-up, on every request), and a moka cache behind it
//! gives single-flight loading on a miss (`try_get_with`: one download shared
//! by concurrent callers, errors not cached). The front map only ever holds
//! what moka returned, and both are bounded by [`MAX_CACHED_CHAINS`]. What is
//! cached is the validated chain, never the outcome of a signature check;
//! the caller re-checks the chain's validity dates on every use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use moka::future::Cache;
use rustls_pki_types::TrustAnchor;
use time::OffsetDateTime;
use url::Url;

use super::chain::{validate_chain, SigningCert};
use super::error::VerifyError;
use super::source::CertSource;

/// Distinct cert URLs kept. Alexa uses one at a time (a new one on rotation),
/// so this bounds memory against callers that send many URLs.
const MAX_CACHED_CHAINS: u64 = 64;

/// A snapshot of the cert store's counters (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CertStoreStats {
    /// Look-ups answered from the cache.
    pub hits: u64,
    /// Look-ups that had to load (from a preloaded file or a download).
    pub misses: u64,
    /// Downloads started through the cert source (one per single-flight load).
    pub downloads: u64,
    /// Downloads that failed (each answered 503).
    pub download_errors: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    downloads: AtomicU64,
    download_errors: AtomicU64,
}

/// The cache plus everything needed to fill it.
pub(crate) struct CertStore {
    /// Hits are answered from here; filled from `cache` after a miss.
    front: RwLock<HashMap<String, Arc<SigningCert>>>,
    /// Single-flight loading on a miss.
    cache: Cache<String, Arc<SigningCert>>,
    source: Arc<dyn CertSource>,
    /// `verification.preloaded_certs`: normalised URL -> PEM, used instead of
    /// a download, and validated on use exactly like a downloaded chain.
    preloaded: HashMap<String, Bytes>,
    anchors: Vec<TrustAnchor<'static>>,
    accept_legacy_sha1: bool,
    counters: Counters,
}

impl CertStore {
    pub(crate) fn new(
        source: Arc<dyn CertSource>,
        preloaded: HashMap<String, Bytes>,
        anchors: Vec<TrustAnchor<'static>>,
        accept_legacy_sha1: bool,
    ) -> Self {
        Self {
            front: RwLock::default(),
            cache: Cache::builder().max_capacity(MAX_CACHED_CHAINS).build(),
            source,
            preloaded,
            anchors,
            accept_legacy_sha1,
            counters: Counters::default(),
        }
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// The validated signing cert for `url` (already checked against the cert
    /// URL rules). The caller re-checks its validity against `now`.
    pub(crate) async fn get(
        &self,
        url: &Url,
        now: OffsetDateTime,
    ) -> Result<Arc<SigningCert>, VerifyError> {
        let key = url.as_str();
        let hit = self
            .front
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned();
        if let Some(cert) = hit {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(cert);
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        // Single flight: concurrent callers for one key share one `load`;
        // an error is handed to all of them and is not cached.
        let cert = self
            .cache
            .try_get_with_by_ref(key, self.load(url, now))
            .await
            .map_err(|e| (*e).clone())?;
        let mut front = self
            .front
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if front.len() >= MAX_CACHED_CHAINS as usize && !front.contains_key(key) {
            // Only a caller cycling through many cert URLs gets here; Alexa
            // uses one at a time. Start over rather than track recency.
            front.clear();
        }
        front.insert(key.to_owned(), cert.clone());
        Ok(cert)
    }

    async fn load(&self, url: &Url, now: OffsetDateTime) -> Result<Arc<SigningCert>, VerifyError> {
        let pem = match self.preloaded.get(url.as_str()) {
            Some(pem) => pem.clone(),
            None => {
                self.counters.downloads.fetch_add(1, Ordering::Relaxed);
                self.source.fetch(url).await.map_err(|e| {
                    self.counters
                        .download_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(cert_url = %url, error = %e, "cert chain download failed");
                    VerifyError::CertDownload(e.to_string())
                })?
            }
        };
        let cert = validate_chain(&pem, &self.anchors, now, self.accept_legacy_sha1)?;
        tracing::info!(cert_url = %url, "cert chain validated and cached");
        Ok(Arc::new(cert))
    }

    pub(crate) fn stats(&self) -> CertStoreStats {
        let c = &self.counters;
        CertStoreStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            downloads: c.downloads.load(Ordering::Relaxed),
            download_errors: c.download_errors.load(Ordering::Relaxed),
        }
    }
}
