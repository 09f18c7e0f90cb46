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
//!
//! A cert URL is chosen by the caller before anything is verified, so
//! downloads are bounded too: at most `cert_download_concurrency` run at once
//! (one more answers 503 at once rather than queueing), and a URL whose load
//! failed is remembered for `cert_failure_ttl_secs` in a bounded map and
//! answered from there without a new download.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use moka::future::Cache;
use rustls_pki_types::TrustAnchor;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use url::Url;

use super::chain::{validate_chain, SigningCert};
use super::error::VerifyError;
use super::source::{CertSource, FetchError};
use crate::telemetry::spans;

/// Distinct cert URLs kept. Alexa uses one at a time (a new one on rotation),
/// so this bounds memory against callers that send many URLs.
const MAX_CACHED_CHAINS: u64 = 64;

/// Failed cert URLs remembered at most (each entry is a URL of at most
/// 2 KiB and a small error), so a caller cycling through URLs cannot grow it.
const MAX_REMEMBERED_FAILURES: u64 = 1024;

/// How the cert store bounds downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DownloadLimits {
    /// Downloads running at once, at most (`verification.cert_download_concurrency`).
    pub(crate) concurrency: usize,
    /// How long a failed URL is answered from memory
    /// (`verification.cert_failure_ttl_secs`); zero remembers nothing.
    pub(crate) failure_ttl: Duration,
}

/// A snapshot of the cert store's counters (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CertStoreStats {
    /// Look-ups answered from the cache.
    pub hits: u64,
    /// Look-ups that had to load (from a preloaded file or a download).
    pub misses: u64,
    /// Downloads started through the cert source (one per single-flight load).
    pub downloads: u64,
    /// Downloads that failed (`downloads_not_found + downloads_failed`).
    pub download_errors: u64,
    /// Downloads that brought back a body (its chain may still be invalid).
    pub downloads_ok: u64,
    /// Downloads the cert server answered with a 4xx (answered 400).
    pub downloads_not_found: u64,
    /// Downloads that failed otherwise: 5xx, timeout, network, too large
    /// (answered 503).
    pub downloads_failed: u64,
    /// Look-ups answered from the memory of a recent failure, without a
    /// download.
    pub negative_cached: u64,
    /// Look-ups refused at once because every download slot was taken.
    pub saturated: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    downloads: AtomicU64,
    downloads_ok: AtomicU64,
    downloads_not_found: AtomicU64,
    downloads_failed: AtomicU64,
    negative_cached: AtomicU64,
    saturated: AtomicU64,
}

/// The cache plus everything needed to fill it.
pub(crate) struct CertStore {
    /// Hits are answered from here; filled from `cache` after a miss.
    front: RwLock<HashMap<String, Arc<SigningCert>>>,
    /// Single-flight loading on a miss.
    cache: Cache<String, Arc<SigningCert>>,
    /// Recently failed URLs and the answer they got; `None` when
    /// `failure_ttl` is zero.
    failures: Option<Cache<String, VerifyError>>,
    /// One permit per download allowed to run at once.
    download_slots: Semaphore,
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
        limits: DownloadLimits,
    ) -> Self {
        let failures = (!limits.failure_ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(MAX_REMEMBERED_FAILURES)
                .time_to_live(limits.failure_ttl)
                .build()
        });
        Self {
            front: RwLock::default(),
            cache: Cache::builder().max_capacity(MAX_CACHED_CHAINS).build(),
            failures,
            download_slots: Semaphore::new(limits.concurrency.max(1)),
            source,
            preloaded,
            anchors,
            accept_legacy_sha1,
            counters: Counters::default(),
        }
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
            spans::record_cert_cache("hit");
            return Ok(cert);
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        // A caller that joins another's flight stays a plain `miss`.
        spans::record_cert_cache("miss");
        if let Some(e) = self.remembered_failure(key).await {
            return Err(e);
        }
        // Single flight: concurrent callers for one key share one `load`;
        // an error is handed to all of them and remembered by `load`, not
        // cached here.
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

    /// The answer a recent failure of `key` got, if it is still remembered.
    async fn remembered_failure(&self, key: &str) -> Option<VerifyError> {
        let e = self.failures.as_ref()?.get(key).await?;
        spans::record_cert_cache("failure_remembered");
        self.counters
            .negative_cached
            .fetch_add(1, Ordering::Relaxed);
        Some(e)
    }

    async fn load(&self, url: &Url, now: OffsetDateTime) -> Result<Arc<SigningCert>, VerifyError> {
        let key = url.as_str();
        let pem = match self.preloaded.get(key) {
            Some(pem) => pem.clone(),
            None => {
                // A failure remembered after this caller looked and before its
                // flight started must not cost a second download.
                if let Some(e) = self.remembered_failure(key).await {
                    return Err(e);
                }
                self.download(url).await?
            }
        };
        match validate_chain(&pem, &self.anchors, now, self.accept_legacy_sha1) {
            Ok(cert) => {
                tracing::info!(cert_url = %url, "cert chain validated and cached");
                Ok(Arc::new(cert))
            }
            Err(e) => {
                if !self.preloaded.contains_key(key) {
                    // Downloading it again within the TTL would give the same
                    // bytes; a preloaded file costs no download.
                    self.remember_failure(key, &e).await;
                }
                Err(e)
            }
        }
    }

    /// Download `url` within a download slot; a failure is remembered.
    async fn download(&self, url: &Url) -> Result<Bytes, VerifyError> {
        let Ok(_slot) = self.download_slots.try_acquire() else {
            self.counters.saturated.fetch_add(1, Ordering::Relaxed);
            spans::record_cert_cache("saturated");
            // Logged per request where the 503 is written; debug here.
            tracing::debug!(cert_url = %url, "cert chain download refused: every download slot is busy");
            return Err(VerifyError::CertDownloadsSaturated);
        };
        self.counters.downloads.fetch_add(1, Ordering::Relaxed);
        spans::record_cert_cache("download");
        let e = match self.source.fetch(url).await {
            Ok(pem) => {
                self.counters.downloads_ok.fetch_add(1, Ordering::Relaxed);
                return Ok(pem);
            }
            Err(e) => e,
        };
        tracing::warn!(cert_url = %url, error = %e, "cert chain download failed");
        let answer = match e {
            FetchError::Status(status) if e.is_not_found() => {
                self.counters
                    .downloads_not_found
                    .fetch_add(1, Ordering::Relaxed);
                VerifyError::CertNotFound(status)
            }
            _ => {
                self.counters
                    .downloads_failed
                    .fetch_add(1, Ordering::Relaxed);
                VerifyError::CertDownload(e.summary())
            }
        };
        self.remember_failure(url.as_str(), &answer).await;
        Err(answer)
    }

    async fn remember_failure(&self, key: &str, e: &VerifyError) {
        if let Some(failures) = &self.failures {
            failures.insert(key.to_owned(), e.clone()).await;
        }
    }

    pub(crate) fn stats(&self) -> CertStoreStats {
        let c = &self.counters;
        let not_found = c.downloads_not_found.load(Ordering::Relaxed);
        let failed = c.downloads_failed.load(Ordering::Relaxed);
        CertStoreStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            downloads: c.downloads.load(Ordering::Relaxed),
            download_errors: not_found + failed,
            downloads_ok: c.downloads_ok.load(Ordering::Relaxed),
            downloads_not_found: not_found,
            downloads_failed: failed,
            negative_cached: c.negative_cached.load(Ordering::Relaxed),
            saturated: c.saturated.load(Ordering::Relaxed),
        }
    }
}
