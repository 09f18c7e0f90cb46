//! Login with Amazon (LWA) client-credentials tokens for the Skill Messaging
//! and Proactive Events APIs, cached until shortly before they expire.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::http::{decode_json, Http, RetryObserver};
use super::retry::Idempotency;
use super::{ApiError, ApiObserver};

/// Observer name of token requests.
const API: &str = "lwa";

/// A token is refreshed this long before it expires, so that a call never
/// leaves with a token that expires on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Login with Amazon's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// The scope that allows sending skill messages.
pub const SKILL_MESSAGING_SCOPE: &str = "alexa:skill_messaging";

/// The scope that allows sending proactive events (notifications).
pub const PROACTIVE_EVENTS_SCOPE: &str = "alexa::proactive_events";

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

/// The cached token. Refresh is single-flight: the lock is held across the
/// token request, so concurrent callers that find no valid token wait for
/// the one request in flight instead of each sending their own. A failed
/// refresh is not cached: the next caller tries again.
#[derive(Default)]
struct TokenCache {
    slot: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<SecretString, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, Duration), ApiError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref() {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        let (token, expires_in) = fetch().await?;
        *slot = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + expires_in.saturating_sub(REFRESH_MARGIN),
        });
        Ok(token)
    }

    async fn clear(&self) {
        *self.slot.lock().await = None;
    }
}

struct Shared {
    token_url: String,
    scope: String,
    client_id: String,
    client_secret: SecretString,
    cache: TokenCache,
}

/// A Login with Amazon client-credentials client for one scope
/// (`alexa:skill_messaging` unless [`LwaClient::with_scope`] says otherwise).
///
/// Clones share the cached token. `Debug` never shows the secret or a token.
/// Token requests are retried like any idempotent Alexa API call (see
/// [`retry`](super::retry)).
#[derive(Clone)]
pub struct LwaClient {
    http: Http,
    shared: Arc<Shared>,
}

impl fmt::Debug for LwaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LwaClient")
            .field("token_url", &self.shared.token_url)
            .field("scope", &self.shared.scope)
            .field("client_id", &self.shared.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl LwaClient {
    /// A client for `token_url` (usually [`DEFAULT_TOKEN_URL`]) with the
    /// skill's client id and secret (Alexa developer console → the skill →
    /// Permissions → Alexa Skill Messaging), for [`SKILL_MESSAGING_SCOPE`].
    pub fn new(
        http: reqwest::Client,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            http: Http::new(http),
            shared: Arc::new(Shared {
                token_url: token_url.into(),
                scope: SKILL_MESSAGING_SCOPE.to_owned(),
                client_id: client_id.into(),
                client_secret,
                cache: TokenCache::default(),
            }),
        }
    }

    /// The same credentials for another scope (e.g.
    /// [`PROACTIVE_EVENTS_SCOPE`]), with a token cache of its own. Call it
    /// when building the client: clones made before keep the old scope.
    pub fn with_scope(self, scope: impl Into<String>) -> Self {
        let s = &self.shared;
        Self {
            http: self.http.clone(),
            shared: Arc::new(Shared {
                token_url: s.token_url.clone(),
                scope: scope.into(),
                client_id: s.client_id.clone(),
                client_secret: s.client_secret.clone(),
                cache: TokenCache::default(),
            }),
        }
    }

    /// The scope tokens are requested for.
    pub fn scope(&self) -> &str {
        &self.shared.scope
    }

    /// Report every token request to `observer` (API name `"lwa"`).
    pub fn with_observer(mut self, observer: ApiObserver) -> Self {
        self.http.observer = Some(observer);
        self
    }

    /// Report every retried token request to `observer` (API name `"lwa"`).
    pub fn with_retry_observer(mut self, observer: RetryObserver) -> Self {
        self.http.on_retry = Some(observer);
        self
    }

    /// A valid access token: the cached one until [`REFRESH_MARGIN`] before it
    /// expires, else a new one (one request however many callers wait).
    pub async fn access_token(&self) -> Result<SecretString, ApiError> {
        self.access_token_until(None).await
    }

    /// Like [`LwaClient::access_token`], with retries of the token request
    /// bounded by `deadline`.
    pub(crate) async fn access_token_until(
        &self,
        deadline: Option<Instant>,
    ) -> Result<SecretString, ApiError> {
        self.shared
            .cache
            .get_or_fetch(|| self.fetch(deadline))
            .await
    }

    /// Forget the cached token (e.g. after the API refused it with 401).
    pub async fn invalidate(&self) {
        self.shared.cache.clear().await;
    }

    /// `POST token_url` with the form `grant_type=client_credentials`,
    /// `scope`, `client_id`, `client_secret`.
    async fn fetch(&self, deadline: Option<Instant>) -> Result<(SecretString, Duration), ApiError> {
        let s = &self.shared;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", s.scope.as_str()),
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.expose_secret()),
        ];
        let request = self
            .http
            .client
            .request(Method::POST, &s.token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        // Asking for a token twice is harmless: always idempotent.
        let (_, body) = self
            .http
            .until(deadline.or(self.http.deadline))
            .execute(API, Idempotency::Idempotent, request)
            .await?;
        let token: TokenResponse = decode_json(&body)?;
        if token.access_token.is_empty() {
            return Err(ApiError::Decode("empty access_token".into()));
        }
        Ok((
            SecretString::from(token.access_token),
            Duration::from_secs(token.expires_in),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn get(cache: &TokenCache, fetches: &AtomicUsize, expires_in: u64) -> String {
        cache
            .get_or_fetch(|| async {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                Ok((
                    SecretString::from(format!("token-{n}")),
                    Duration::from_secs(expires_in),
                ))
            })
            .await
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_default()
    }

    #[tokio::test(start_paused = true)]
    async fn cached_until_sixty_seconds_before_expiry() {
        let cache = TokenCache::default();
        let fetches = AtomicUsize::new(0);
        assert_eq!(get(&cache, &fetches, 3600).await, "token-1");
        tokio::time::advance(Duration::from_secs(3600 - 61)).await;
        assert_eq!(get(&cache, &fetches, 3600).await, "token-1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(get(&cache, &fetches, 3600).await, "token-2");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_token_is_never_reused() {
        let cache = TokenCache::default();
        let fetches = AtomicUsize::new(0);
        assert_eq!(get(&cache, &fetches, 60).await, "token-1");
        assert_eq!(get(&cache, &fetches, 60).await, "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_not_cached_and_clear_forgets() {
        let cache = TokenCache::default();
        let fetches = AtomicUsize::new(0);
        let failed = cache
            .get_or_fetch(|| async { Err::<(SecretString, Duration), _>(ApiError::Timeout) })
            .await;
        assert!(matches!(failed, Err(ApiError::Timeout)));
        assert_eq!(get(&cache, &fetches, 3600).await, "token-1");
        cache.clear().await;
        assert_eq!(get(&cache, &fetches, 3600).await, "token-2");
    }
}
