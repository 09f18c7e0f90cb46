//! The shared HTTP plumbing of every Alexa API client: one `reqwest::Client`
//! with a bounded pool, a bound on calls in flight, the retry loop (policy in
//! [`retry`](super::retry)), the call observers (metrics), status →
//! [`ApiError`] mapping and the API's own error message parsed from the body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

use super::retry::{self, Failure, Idempotency};
use super::ApiError;
use crate::http_client::HttpPolicy;
use crate::telemetry::spans;

/// Called after every Alexa API call attempt with the API's name (`"lists"`,
/// `"reminders"`, `"skill_messaging"`, `"proactive_events"`, `"lwa"`) and
/// the HTTP status, or `0` when no status was received (timeout, transport
/// error). Metrics count calls through it.
pub type ApiObserver = Arc<dyn Fn(&'static str, u16) + Send + Sync>;

/// Called with the API's name each time a failed call is about to be tried
/// again (see [`retry`](super::retry)). Metrics count retries through it.
pub type RetryObserver = Arc<dyn Fn(&'static str) + Send + Sync>;

/// Most Alexa API calls in flight at once through one client set (one
/// [`AlexaApi`](super::AlexaApi), or one sender client): a call beyond it
/// waits for a slot until its deadline, then fails with
/// [`ApiError::Saturated`] (transient: the handler answers 503).
pub const MAX_IN_FLIGHT_CALLS: usize = 64;
/// Without a deadline, the longest wait for a free call slot.
const SLOT_WAIT_WITHOUT_DEADLINE: Duration = Duration::from_secs(10);

/// Longest API message kept in an error (the rest of a long body is cut).
const MAX_MESSAGE_CHARS: usize = 300;

/// Build the HTTP client every Alexa API client shares, with the crate's one
/// outbound policy ([`HttpPolicy`]): `timeout` for a whole call and for
/// connecting, a bounded idle pool, no redirects (a client carrying a token
/// follows nobody anywhere).
pub fn build_http_client(timeout: Duration) -> Result<reqwest::Client, ApiError> {
    HttpPolicy::new(timeout)
        .build()
        .map_err(|e| ApiError::Transport(format!("cannot build the HTTP client: {e}")))
}

/// A `reqwest::Client`, the observers, the call slots and the deadline of
/// the calls made through it; cheap to clone (clones share the slots).
#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) observer: Option<ApiObserver>,
    pub(crate) on_retry: Option<RetryObserver>,
    /// No retry is made that would end past this instant.
    pub(crate) deadline: Option<Instant>,
    slots: Arc<Semaphore>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("observer", &self.observer.is_some())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// One failed attempt: the error, and what the retry policy needs to know.
struct AttemptError {
    error: ApiError,
    /// `None`: never retried (no call slot came free in time).
    failure: Option<Failure>,
    retry_after: Option<Duration>,
}

impl Http {
    pub(crate) fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            observer: None,
            on_retry: None,
            deadline: None,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT_CALLS)),
        }
    }

    /// The same, with calls bounded by `deadline`.
    pub(crate) fn until(&self, deadline: Option<Instant>) -> Self {
        let mut http = self.clone();
        http.deadline = deadline;
        http
    }

    fn observe(&self, api: &'static str, status: u16) {
        if let Some(observer) = &self.observer {
            observer(api, status);
        }
    }

    /// Send `request`, read the whole body, report every attempt to the
    /// observer, retry what [`retry::decide`] allows, and map a final
    /// non-2xx status to its [`ApiError`].
    pub(crate) async fn execute(
        &self,
        api: &'static str,
        idempotency: Idempotency,
        request: RequestBuilder,
    ) -> Result<(StatusCode, Bytes), ApiError> {
        let request = request.build().map_err(|e| {
            ApiError::InvalidInput(format!("cannot build the request: {}", e.without_url()))
        })?;
        let mut attempt = 1;
        loop {
            // Bodies here are always in memory, so a clone exists; should one
            // not, the call is made once.
            let Some(this_try) = request.try_clone() else {
                return self.attempt(api, request).await.map_err(|f| f.error);
            };
            let failed = match self.attempt(api, this_try).await {
                Ok(answer) => return Ok(answer),
                Err(failed) => failed,
            };
            let Some(failure) = failed.failure else {
                return Err(failed.error);
            };
            let decision = retry::decide(
                idempotency,
                failure,
                failed.retry_after,
                attempt,
                self.deadline,
                Instant::now(),
            );
            match decision {
                Ok(wait) => {
                    tracing::info!(
                        api, attempt, wait_ms = wait.as_millis() as u64, error = %failed.error,
                        "Alexa API call failed; trying again"
                    );
                    if let Some(on_retry) = &self.on_retry {
                        on_retry(api);
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(why) => {
                    if failure.is_retryable(idempotency) {
                        tracing::info!(api, attempt, error = %failed.error, "Alexa API call failed; not trying again: {why}");
                    }
                    return Err(failed.error);
                }
            }
        }
    }

    /// One attempt in its own client span (`"{method} {api}"`, HTTP
    /// semantic-convention attributes; never the token or a body).
    async fn attempt(
        &self,
        api: &'static str,
        request: reqwest::Request,
    ) -> Result<(StatusCode, Bytes), AttemptError> {
        let span = spans::client_span(api, request.method().as_str(), request.url());
        let result = self
            .attempt_once(api, request)
            .instrument(span.clone())
            .await;
        match &result {
            Ok((status, _)) => spans::record_status(&span, status.as_u16()),
            Err(AttemptError {
                failure: Some(Failure::Status(status)),
                ..
            }) => spans::record_status(&span, *status),
            Err(AttemptError { error, .. }) => spans::record_error(
                &span,
                match error {
                    ApiError::Timeout => "timeout",
                    ApiError::Saturated => "saturated",
                    _ => "transport",
                },
            ),
        }
        result
    }

    /// One attempt, holding a call slot while it runs.
    async fn attempt_once(
        &self,
        api: &'static str,
        request: reqwest::Request,
    ) -> Result<(StatusCode, Bytes), AttemptError> {
        let slot_wait = match self.deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => SLOT_WAIT_WITHOUT_DEADLINE,
        };
        let _slot = match tokio::time::timeout(slot_wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed; either way no slot came free.
            Ok(Err(_)) | Err(_) => {
                return Err(AttemptError {
                    error: ApiError::Saturated,
                    failure: None,
                    retry_after: None,
                })
            }
        };
        let sent_failure = |e: reqwest::Error| {
            let failure = if e.is_connect() {
                Failure::NotSent
            } else {
                Failure::Ambiguous
            };
            AttemptError {
                error: map_reqwest_error(e),
                failure: Some(failure),
                retry_after: None,
            }
        };
        let response = match self.client.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                self.observe(api, 0);
                return Err(sent_failure(e));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                self.observe(api, 0);
                return Err(AttemptError {
                    error: map_reqwest_error(e),
                    failure: Some(Failure::Ambiguous),
                    retry_after: None,
                });
            }
        };
        self.observe(api, status.as_u16());
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(AttemptError {
                error: error_for_status(status, &headers, &body),
                failure: Some(Failure::Status(status.as_u16())),
                retry_after: retry_after(&headers),
            })
        }
    }
}

/// The `Retry-After` header, when present and understood.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

/// Timeout or transport; the error's source chain makes the message useful
/// ("connection refused"). The URL is left out: it is not needed to act on
/// the error and may carry a user id.
pub(crate) fn map_reqwest_error(e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout;
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ApiError::Transport(message)
}

/// Map a non-success status to its variant, with the API's own message.
pub(crate) fn error_for_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
    let message = api_message(body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("no message in the response")
            .to_owned()
    });
    match status.as_u16() {
        401 => ApiError::Unauthorized { message },
        403 => ApiError::Forbidden { message },
        404 => ApiError::NotFound { message },
        409 => ApiError::Conflict { message },
        429 => ApiError::RateLimited {
            retry_after: retry_after(headers),
            message,
        },
        s @ 500..=599 => ApiError::Server { status: s, message },
        s => ApiError::UnexpectedStatus { status: s, message },
    }
}

/// The API's own explanation: `message` (List Management, Skill Messaging),
/// `Message` (some 403s), `error_description`/`error` (Login with Amazon); a
/// short non-JSON body is taken as it is.
pub(crate) fn api_message(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => ["message", "Message", "error_description", "error"]
            .iter()
            .find_map(|k| json.get(k).and_then(|v| v.as_str()).map(str::to_owned))?,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    if text.is_empty() {
        return None;
    }
    Some(truncate(&text, MAX_MESSAGE_CHARS))
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    let wait = at - time::OffsetDateTime::now_utc();
    Some(wait.try_into().unwrap_or(Duration::ZERO))
}

/// Deserialize a success body, naming the offending field on failure.
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Percent-encode one path segment: everything but RFC 3986 unreserved
/// characters, like the official SDKs (`quote(value, safe='')`). List ids are
/// base64 and may contain `/`, `+` and `=`.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `endpoint` is an absolute http(s) URL with a host: what an API
/// endpoint (configured or given to a client) must be.
pub(crate) fn is_http_url(endpoint: &str) -> bool {
    url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.has_host())
}

/// An endpoint without its trailing slash, so `base + "/v2/..."` is a path.
pub(crate) fn trim_endpoint(endpoint: &str) -> &str {
    endpoint.strip_suffix('/').unwrap_or(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_api_debug_never_shows_the_token() {
        crate::install_crypto_provider();
        let api = UserApi::new(
            Http::new(reqwest::Client::new()),
            "https://api.amazonalexa.com".into(),
            secrecy::SecretString::from("atza|TOKEN-SECRET"),
        );
        let shown = format!("{api:?}");
        assert!(shown.contains("api.amazonalexa.com"), "{shown}");
        assert!(!shown.contains("TOKEN-SECRET"), "{shown}");
    }

    #[test]
    fn message_from_either_case_or_lwa_fields() {
        assert_eq!(api_message(br#"{"message":"a"}"#).as_deref(), Some("a"));
        assert_eq!(api_message(br#"{"Message":"b"}"#).as_deref(), Some("b"));
        assert_eq!(
            api_message(br#"{"error":"invalid_client","error_description":"c"}"#).as_deref(),
            Some("c")
        );
        assert_eq!(api_message(b"plain text").as_deref(), Some("plain text"));
        assert_eq!(api_message(br#"{"other":1}"#), None);
        assert_eq!(api_message(b""), None);
    }

    #[test]
    fn retry_after_seconds_and_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn segments_are_encoded_like_the_sdks() {
        assert_eq!(encode_segment("YWJj+/d="), "YWJj%2B%2Fd%3D");
        assert_eq!(
            encode_segment("amzn1.ask.account.X-_~"),
            "amzn1.ask.account.X-_~"
        );
        assert_eq!(encode_segment("a b"), "a%20b");
    }
}

/// One user's access to Alexa's APIs: the request's `apiEndpoint` (already
/// allowlisted) and its `apiAccessToken`. The List and Reminders clients are
/// thin typed layers over its one `call`.
#[derive(Clone)]
pub(crate) struct UserApi {
    http: Http,
    base: String,
    token: secrecy::SecretString,
}

/// Never shows the token.
impl fmt::Debug for UserApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserApi")
            .field("endpoint", &self.base)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl UserApi {
    /// `base` must already have passed the allowlist.
    pub(crate) fn new(http: Http, base: String, token: secrecy::SecretString) -> Self {
        Self { http, base, token }
    }

    /// The `apiEndpoint` (no trailing slash).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Bound retries by `deadline`.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.http.deadline = Some(deadline);
    }

    /// One call of `api`: Bearer token, `Accept: application/json`, a JSON
    /// body when there is one. A POST creates something, so it is not
    /// retried after an ambiguous failure; every other method is.
    pub(crate) async fn call<B: serde::Serialize + ?Sized>(
        &self,
        api: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Bytes, ApiError> {
        use secrecy::ExposeSecret;
        let idempotency = if method == reqwest::Method::POST {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        let mut request = self
            .http
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let (_, body) = self.http.execute(api, idempotency, request).await?;
        Ok(body)
    }
}
