//! Where cert chains come from: the [`CertSource`] trait and the production
//! [`HttpsCertSource`].

use std::net::IpAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tracing::Instrument;
use url::{Host, Url};

use super::error::VerifierInitError;
use crate::http_client::HttpPolicy;
use crate::telemetry::spans;

/// Largest cert chain accepted from a download (Amazon's is about 4 KiB).
pub const MAX_CERT_CHAIN_BYTES: usize = 64 * 1024;

/// Fetches the PEM cert chain behind a cert URL.
///
/// The verifier only calls it with URLs that passed the cert URL rules, at
/// most once at a time per URL (single flight). Tests inject their own.
#[async_trait::async_trait]
pub trait CertSource: Send + Sync + 'static {
    /// Fetch the PEM bytes behind `url`.
    async fn fetch(&self, url: &Url) -> Result<Bytes, FetchError>;
}

/// Why a cert chain download failed: a 4xx other than 408/429 answers 400
/// (see [`FetchError::is_not_found`]), anything else 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not `https` (nothing was sent).
    #[error("cert URL is not https")]
    NotHttps,
    /// The server answered with a status other than 200 (redirects included:
    /// they are never followed).
    #[error("cert server answered HTTP {0}")]
    Status(u16),
    /// The body is larger than 64 KiB.
    #[error("cert chain larger than {MAX_CERT_CHAIN_BYTES} bytes")]
    TooLarge,
    /// The attempt ran past `cert_fetch_timeout_ms`.
    #[error("cert download timed out")]
    Timeout,
    /// Connection, TLS or protocol failure.
    #[error("cert download failed: {0}")]
    Network(String),
}

impl FetchError {
    /// The cert server answered a 4xx other than 408 (request timeout) and
    /// 429 (slow down): the URL names a chain that does not exist (S3 answers
    /// 403 for a missing object in a bucket that may not be listed). Not
    /// retried, and the request answers 400.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::Status(s) if (400..500).contains(s) && *s != 408 && *s != 429)
    }

    /// A short description that is safe to show a caller: the status or the
    /// kind of failure, never upstream error text or an address.
    pub fn summary(&self) -> String {
        match self {
            FetchError::NotHttps => "cert URL is not https".to_owned(),
            FetchError::Status(s) => format!("HTTP {s}"),
            FetchError::TooLarge => format!("larger than {MAX_CERT_CHAIN_BYTES} bytes"),
            FetchError::Timeout => "timed out".to_owned(),
            FetchError::Network(_) => "network error".to_owned(),
        }
    }

    /// Worth one more attempt: timeouts, network errors and 5xx.
    fn is_retryable(&self) -> bool {
        match self {
            FetchError::Timeout | FetchError::Network(_) => true,
            FetchError::Status(s) => *s >= 500,
            FetchError::NotHttps | FetchError::TooLarge => false,
        }
    }
}

/// The production cert source: HTTPS only, redirects not followed, body
/// capped at 64 KiB, `cert_fetch_timeout_ms` per attempt, one retry for a
/// transient failure (timeout, network, 5xx; never for a 4xx).
#[derive(Debug, Clone)]
pub struct HttpsCertSource {
    client: reqwest::Client,
    timeout: Duration,
    allow_loopback_http: bool,
}

impl HttpsCertSource {
    /// A source with `timeout` per attempt.
    pub fn new(timeout: Duration) -> Result<Self, VerifierInitError> {
        Self::build(timeout, false)
    }

    /// Test-only: additionally allows plain `http://` to a loopback IP
    /// literal, so tests can point it at a local mock server. Production never
    /// calls this ([`Verifier::from_config`](super::Verifier::from_config)
    /// uses [`HttpsCertSource::new`]), and cert URLs that reach any source
    /// have already passed the `https://s3.amazonaws.com/echo.api/` rules.
    pub fn for_loopback_tests(timeout: Duration) -> Result<Self, VerifierInitError> {
        Self::build(timeout, true)
    }

    fn build(timeout: Duration, allow_loopback_http: bool) -> Result<Self, VerifierInitError> {
        let client = HttpPolicy::new(timeout)
            .https_only(!allow_loopback_http)
            .build()
            .map_err(|e| {
                VerifierInitError::new("verification.cert_fetch_timeout_ms", e.to_string())
            })?;
        Ok(Self {
            client,
            timeout,
            allow_loopback_http,
        })
    }

    fn allowed(&self, url: &Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" if self.allow_loopback_http => match url.host() {
                Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                _ => false,
            },
            _ => false,
        }
    }

    async fn attempt(&self, url: &Url) -> Result<Bytes, FetchError> {
        let span = spans::client_span("cert_download", "GET", url);
        let result = self.attempt_once(url).instrument(span.clone()).await;
        match &result {
            Ok(_) => spans::record_status(&span, 200),
            Err(FetchError::Status(status)) => spans::record_status(&span, *status),
            Err(FetchError::Timeout) => spans::record_error(&span, "timeout"),
            Err(FetchError::TooLarge) => spans::record_error(&span, "too_large"),
            Err(FetchError::NotHttps | FetchError::Network(_)) => {
                spans::record_error(&span, "transport")
            }
        }
        result
    }

    async fn attempt_once(&self, url: &Url) -> Result<Bytes, FetchError> {
        let work = async {
            let mut resp = self
                .client
                .get(url.clone())
                .send()
                .await
                .map_err(network_error)?;
            if resp.status() != reqwest::StatusCode::OK {
                return Err(FetchError::Status(resp.status().as_u16()));
            }
            if resp
                .content_length()
                .is_some_and(|n| n > MAX_CERT_CHAIN_BYTES as u64)
            {
                return Err(FetchError::TooLarge);
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = resp.chunk().await.map_err(network_error)? {
                if body.len() + chunk.len() > MAX_CERT_CHAIN_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

/// reqwest's own total timeout counts as a timeout, like the per-attempt one.
fn network_error(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else {
        FetchError::Network(e.without_url().to_string())
    }
}

#[async_trait::async_trait]
impl CertSource for HttpsCertSource {
    async fn fetch(&self, url: &Url) -> Result<Bytes, FetchError> {
        if !self.allowed(url) {
            return Err(FetchError::NotHttps);
        }
        match self.attempt(url).await {
            Err(e) if e.is_retryable() => {
                tracing::debug!(cert_url = %url, error = %e, "cert download failed, retrying once");
                self.attempt(url).await
            }
            other => other,
        }
    }
}
