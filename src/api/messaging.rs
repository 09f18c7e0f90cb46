//! The Skill Messaging API: what a third-party app calls to send an
//! out-of-session message that Alexa delivers to the skill as
//! `Messaging.MessageReceived`.

use std::fmt;
use std::str::FromStr;

use serde_json::json;

use tokio::time::Instant;

use super::app_api::AppApi;
use super::http::{encode_segment, Http, RetryObserver};
use super::{ApiError, ApiObserver, LwaClient};

/// Observer name of Skill Messaging calls.
const API: &str = "skill_messaging";

/// Largest `data`, serialized compactly, in bytes (6 KB).
pub const MAX_DATA_BYTES: usize = 6144;
/// Shortest allowed `expiresAfterSeconds`.
pub const MIN_EXPIRES_AFTER_SECS: u32 = 60;
/// Longest allowed `expiresAfterSeconds` (24 h).
pub const MAX_EXPIRES_AFTER_SECS: u32 = 86_400;
/// `expiresAfterSeconds` when none is given (1 h).
pub const DEFAULT_EXPIRES_AFTER_SECS: u32 = 3600;

/// The Alexa API region of the skill's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Region {
    /// North America: `https://api.amazonalexa.com`.
    #[default]
    Na,
    /// Europe: `https://api.eu.amazonalexa.com`.
    Eu,
    /// Far East: `https://api.fe.amazonalexa.com`.
    Fe,
}

impl Region {
    /// The region's API endpoint.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::Na => "https://api.amazonalexa.com",
            Self::Eu => "https://api.eu.amazonalexa.com",
            Self::Fe => "https://api.fe.amazonalexa.com",
        }
    }
}

impl FromStr for Region {
    type Err = String;

    /// `na`, `eu` or `fe` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "na" => Ok(Self::Na),
            "eu" => Ok(Self::Eu),
            "fe" => Ok(Self::Fe),
            _ => Err(format!("unknown region {s:?}: expected na, eu or fe")),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Na => "na",
            Self::Eu => "eu",
            Self::Fe => "fe",
        })
    }
}

/// Check a message before anything is sent: `data` is a JSON object of at
/// most [`MAX_DATA_BYTES`] (serialized compactly) and `expires_after_secs`
/// is within [`MIN_EXPIRES_AFTER_SECS`]..=[`MAX_EXPIRES_AFTER_SECS`].
pub fn validate_message(data: &serde_json::Value, expires_after_secs: u32) -> Result<(), ApiError> {
    if !(MIN_EXPIRES_AFTER_SECS..=MAX_EXPIRES_AFTER_SECS).contains(&expires_after_secs) {
        return Err(ApiError::InvalidInput(format!(
            "expiresAfterSeconds must be between {MIN_EXPIRES_AFTER_SECS} and \
             {MAX_EXPIRES_AFTER_SECS}, got {expires_after_secs}"
        )));
    }
    if !data.is_object() {
        return Err(ApiError::InvalidInput(
            "data must be a JSON object, e.g. {\"list\":\"shopping\",\"add\":[\"milk\"]}".into(),
        ));
    }
    let size = serde_json::to_vec(data)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_DATA_BYTES {
        return Err(ApiError::InvalidInput(format!(
            "data is {size} bytes serialized; the limit is {MAX_DATA_BYTES}"
        )));
    }
    Ok(())
}

/// Sends skill messages with a Login with Amazon token.
#[derive(Clone, Debug)]
pub struct SkillMessagingClient {
    api: AppApi,
}

impl SkillMessagingClient {
    /// A client for `api_endpoint` (e.g. [`Region::endpoint`]); tokens come
    /// from `lwa`. Fails unless `api_endpoint` is an http(s) URL.
    pub fn new(
        lwa: LwaClient,
        api_endpoint: &str,
        http: reqwest::Client,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            api: AppApi::new(lwa, api_endpoint, http)?,
        })
    }

    /// A client for a region's endpoint.
    pub fn for_region(lwa: LwaClient, region: Region, http: reqwest::Client) -> Self {
        Self {
            api: AppApi {
                http: Http::new(http),
                lwa,
                base: region.endpoint().to_owned(),
            },
        }
    }

    /// Report every call to `observer` (API name `"skill_messaging"`).
    pub fn with_observer(mut self, observer: ApiObserver) -> Self {
        self.api.http.observer = Some(observer);
        self
    }

    /// Report every retried call to `observer` (API name `"skill_messaging"`).
    pub fn with_retry_observer(mut self, observer: RetryObserver) -> Self {
        self.api.http.on_retry = Some(observer);
        self
    }

    /// Bound retries (of the token request too) by `deadline`, e.g. when
    /// sending from inside a handler.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.api.http.deadline = Some(deadline);
        self
    }

    /// The API endpoint messages are sent to (no trailing slash).
    pub fn endpoint(&self) -> &str {
        &self.api.base
    }

    /// The token client.
    pub fn lwa(&self) -> &LwaClient {
        &self.api.lwa
    }

    /// Send `data` to the skill for `user_id`
    /// (`POST {api}/v1/skillmessages/users/{userId}`,
    /// `{"data": ..., "expiresAfterSeconds": N}`). `Ok` means Alexa accepted
    /// the message for delivery (202). Input is validated before any request
    /// (token included) is made. A 401 drops the cached token.
    ///
    /// A send is not idempotent: it is retried after a 429 or 503 (Alexa did
    /// not take the message) or when the connection could not be made, never
    /// after a timeout or another 5xx (the message may be on its way).
    pub async fn send(
        &self,
        user_id: &str,
        data: &serde_json::Value,
        expires_after_secs: u32,
    ) -> Result<(), ApiError> {
        if user_id.trim().is_empty() {
            return Err(ApiError::InvalidInput("user id is empty".into()));
        }
        validate_message(data, expires_after_secs)?;
        let path = format!("/v1/skillmessages/users/{}", encode_segment(user_id));
        let body = json!({ "data": data, "expiresAfterSeconds": expires_after_secs });
        self.api.post(API, &path, &body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_bounds() {
        let obj = json!({"a": 1});
        assert!(validate_message(&obj, 60).is_ok());
        assert!(validate_message(&obj, 86_400).is_ok());
        assert!(validate_message(&obj, 59).is_err());
        assert!(validate_message(&obj, 86_401).is_err());
        assert!(validate_message(&json!([1]), 3600).is_err());
        assert!(validate_message(&json!("s"), 3600).is_err());
        // {"a":"xxx..."} is 8 bytes of framing.
        let at_limit = json!({ "a": "x".repeat(MAX_DATA_BYTES - 8) });
        assert!(validate_message(&at_limit, 3600).is_ok());
        let over = json!({ "a": "x".repeat(MAX_DATA_BYTES - 7) });
        assert!(validate_message(&over, 3600).is_err());
    }

    #[test]
    fn regions() {
        assert_eq!("EU".parse::<Region>(), Ok(Region::Eu));
        assert_eq!(Region::Fe.endpoint(), "https://api.fe.amazonalexa.com");
        assert!("us".parse::<Region>().is_err());
    }
}
