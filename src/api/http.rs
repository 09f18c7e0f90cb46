//! The shared HTTP plumbing of every Alexa API client: one `reqwest::Client`,
//! the call observer (metrics), status → [`ApiError`] mapping and the API's
//! own error message parsed from the body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::ApiError;

/// Called after every Alexa API call with the API's name (`"lists"`,
/// `"skill_messaging"`, `"lwa"`) and the HTTP status, or `0` when no status
/// was received (timeout, transport error). Metrics count calls through it.
pub type ApiObserver = Arc<dyn Fn(&'static str, u16) + Send + Sync>;

/// Longest API message kept in an error (the rest of a long body is cut).
const MAX_MESSAGE_CHARS: usize = 300;

/// Build the HTTP client every Alexa API client shares: rustls (aws-lc-rs
/// provider), `timeout` for a whole call, no redirects (a client carrying a
/// token follows nobody anywhere).
pub fn build_http_client(timeout: Duration) -> Result<reqwest::Client, ApiError> {
    // Installing the process-wide provider is idempotent: a second call (or
    // another module's) returns Err, which is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("alexa-endpoint/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ApiError::Transport(format!("cannot build the HTTP client: {e}")))
}

/// A `reqwest::Client` plus the observer; cheap to clone.
#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) observer: Option<ApiObserver>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl Http {
    pub(crate) fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            observer: None,
        }
    }

    fn observe(&self, api: &'static str, status: u16) {
        if let Some(observer) = &self.observer {
            observer(api, status);
        }
    }

    /// Send `request`, read the whole body, report to the observer, and map
    /// any non-2xx status to its [`ApiError`].
    pub(crate) async fn execute(
        &self,
        api: &'static str,
        request: RequestBuilder,
    ) -> Result<(StatusCode, Bytes), ApiError> {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.observe(api, 0);
                return Err(map_reqwest_error(e));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                self.observe(api, 0);
                return Err(map_reqwest_error(e));
            }
        };
        self.observe(api, status.as_u16());
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(error_for_status(status, &headers, &body))
        }
    }
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
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
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

/// An endpoint without its trailing slash, so `base + "/v2/..."` is a path.
pub(crate) fn trim_endpoint(endpoint: &str) -> &str {
    endpoint.strip_suffix('/').unwrap_or(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

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
