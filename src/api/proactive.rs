//! The Proactive Events API: the skill's own Login with Amazon credentials
//! (scope [`PROACTIVE_EVENTS_SCOPE`]) send a notification to one user
//! ([`Audience::Unicast`]) or to every user who opted in
//! ([`Audience::Multicast`]), live or to the skill's development stage.
//!
//! The event is Amazon's schema JSON: `timestamp`, `referenceId`,
//! `expiryTime`, `event {name, payload}`, `localizedAttributes`,
//! `relevantAudience`. [`ProactiveEventsClient::send`] fills the first three
//! when they are absent and sets `relevantAudience` from its argument.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::app_api::AppApi;
use super::http::RetryObserver;
use super::lwa::PROACTIVE_EVENTS_SCOPE;
use super::{ApiError, ApiObserver, LwaClient, Region};

/// Observer name of Proactive Events calls.
const API: &str = "proactive_events";

/// Shortest time between now and `expiryTime` Alexa accepts (5 minutes).
pub const MIN_EVENT_EXPIRY: Duration = Duration::from_secs(300);
/// Longest time between now and `expiryTime` Alexa accepts (24 hours).
pub const MAX_EVENT_EXPIRY: Duration = Duration::from_secs(86_400);
/// `expiryTime` when the event has none: one hour after its timestamp.
pub const DEFAULT_EVENT_EXPIRY: Duration = Duration::from_secs(3600);

/// Who gets the notification.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    /// One user: `{"type":"Unicast","payload":{"user":ID}}`.
    Unicast {
        /// The user's id (`amzn1.ask.account....`).
        user: String,
    },
    /// Every user subscribed to the event: `{"type":"Multicast","payload":{}}`.
    Multicast,
}

impl Audience {
    /// The `relevantAudience` JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Unicast { user } => json!({"type": "Unicast", "payload": {"user": user}}),
            Self::Multicast => json!({"type": "Multicast", "payload": {}}),
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unicast { user } => write!(f, "user {user}"),
            Self::Multicast => f.write_str("all subscribed users (multicast)"),
        }
    }
}

/// Which version of the skill the event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Stage {
    /// The development stage (`/v1/proactiveEvents/stages/development`): for
    /// testing with the developer's own account.
    #[default]
    Development,
    /// The live skill (`/v1/proactiveEvents`).
    Live,
}

impl Stage {
    /// The API path events of this stage are POSTed to.
    pub fn path(self) -> &'static str {
        match self {
            Self::Development => "/v1/proactiveEvents/stages/development",
            Self::Live => "/v1/proactiveEvents",
        }
    }
}

impl FromStr for Stage {
    type Err = String;

    /// `development` or `live` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" => Ok(Self::Development),
            "live" => Ok(Self::Live),
            _ => Err(format!("unknown stage {s:?}: expected development or live")),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Development => "development",
            Self::Live => "live",
        })
    }
}

/// `event`: the schema's name and its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    /// Schema name, e.g. `AMAZON.MessageAlert.Activated`.
    pub name: String,
    /// The schema's payload.
    #[serde(default)]
    pub payload: Value,
}

/// A proactive event in Amazon's JSON shape. Fields this type does not name
/// are kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProactiveEvent {
    /// When the event happened (RFC 3339); now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Unique id of this event; a random one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// When the notification expires (RFC 3339, 5 minutes to 24 hours
    /// ahead); [`DEFAULT_EVENT_EXPIRY`] after the timestamp when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
    /// The schema name and payload.
    pub event: EventBody,
    /// The localized strings the payload refers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub localized_attributes: Vec<Value>,
    /// Set by [`ProactiveEventsClient::send`] from its audience argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant_audience: Option<Value>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProactiveEvent {
    /// Fill `timestamp` (now), `referenceId` (random) and `expiryTime`
    /// (`expires_after` after now) where absent; fields that are given are
    /// kept. `expires_after` must be within [`MIN_EVENT_EXPIRY`]..=
    /// [`MAX_EVENT_EXPIRY`].
    pub fn fill_defaults(&mut self, expires_after: Duration) -> Result<(), ApiError> {
        if !(MIN_EVENT_EXPIRY..=MAX_EVENT_EXPIRY).contains(&expires_after) {
            return Err(ApiError::InvalidInput(format!(
                "the expiry must be between {} and {} seconds ahead, got {}",
                MIN_EVENT_EXPIRY.as_secs(),
                MAX_EVENT_EXPIRY.as_secs(),
                expires_after.as_secs()
            )));
        }
        let now = OffsetDateTime::now_utc();
        let format = |t: OffsetDateTime| {
            t.format(&Rfc3339)
                .map_err(|e| ApiError::InvalidInput(format!("cannot format a time: {e}")))
        };
        if self.timestamp.is_none() {
            self.timestamp = Some(format(now)?);
        }
        if self.reference_id.is_none() {
            self.reference_id = Some(random_reference_id());
        }
        if self.expiry_time.is_none() {
            self.expiry_time = Some(format(now + expires_after)?);
        }
        Ok(())
    }
}

/// A random UUID-shaped (version 4) id.
fn random_reference_id() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // The system RNG does not fail in practice; a time-based id is
        // still unique enough for one sender.
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        bytes.copy_from_slice(&nanos.to_be_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Sends proactive events with a Login with Amazon token for
/// [`PROACTIVE_EVENTS_SCOPE`] (cached, refreshed by one request however
/// many senders wait).
///
/// A send is not idempotent: it is retried after a 429 or 503 (Alexa did not
/// take the event) or when the connection could not be made, never after a
/// timeout or another 5xx (the event may be on its way).
#[derive(Clone, Debug)]
pub struct ProactiveEventsClient {
    api: AppApi,
}

impl ProactiveEventsClient {
    /// A client for `api_endpoint` (e.g. [`Region::endpoint`]) with the
    /// skill's credentials in `lwa`; a client for another scope is switched
    /// to [`PROACTIVE_EVENTS_SCOPE`] (with a token cache of its own). Fails
    /// unless `api_endpoint` is an http(s) URL.
    pub fn new(
        lwa: LwaClient,
        api_endpoint: &str,
        http: reqwest::Client,
    ) -> Result<Self, ApiError> {
        let lwa = if lwa.scope() == PROACTIVE_EVENTS_SCOPE {
            lwa
        } else {
            lwa.with_scope(PROACTIVE_EVENTS_SCOPE)
        };
        Ok(Self {
            api: AppApi::new(lwa, api_endpoint, http)?,
        })
    }

    /// A client for a region's endpoint.
    pub fn for_region(
        lwa: LwaClient,
        region: Region,
        http: reqwest::Client,
    ) -> Result<Self, ApiError> {
        Self::new(lwa, region.endpoint(), http)
    }

    /// Report every call to `observer` (API name `"proactive_events"`).
    pub fn with_observer(mut self, observer: ApiObserver) -> Self {
        self.api.http.observer = Some(observer);
        self
    }

    /// Report every retried call to `observer` (API name `"proactive_events"`).
    pub fn with_retry_observer(mut self, observer: RetryObserver) -> Self {
        self.api.http.on_retry = Some(observer);
        self
    }

    /// Bound retries (of the token request too) by `deadline`.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.api.http.deadline = Some(deadline);
        self
    }

    /// The API endpoint events are sent to (no trailing slash).
    pub fn endpoint(&self) -> &str {
        &self.api.base
    }

    /// The token client.
    pub fn lwa(&self) -> &LwaClient {
        &self.api.lwa
    }

    /// Send `event` to `audience` on `stage` (`POST {api}{stage path}`).
    /// Absent `timestamp`, `referenceId` and `expiryTime` are filled
    /// ([`ProactiveEvent::fill_defaults`] with [`DEFAULT_EVENT_EXPIRY`]);
    /// `relevantAudience` is `audience`. Returns the event as sent once Alexa
    /// accepted it (any 2xx; Alexa answers 202). A 401 drops the cached token.
    pub async fn send(
        &self,
        event: &ProactiveEvent,
        audience: Audience,
        stage: Stage,
    ) -> Result<ProactiveEvent, ApiError> {
        if event.event.name.trim().is_empty() {
            return Err(ApiError::InvalidInput("event.name is empty".into()));
        }
        if let Audience::Unicast { user } = &audience {
            if user.trim().is_empty() {
                return Err(ApiError::InvalidInput("the user id is empty".into()));
            }
        }
        let mut event = event.clone();
        event.fill_defaults(DEFAULT_EVENT_EXPIRY)?;
        event.relevant_audience = Some(audience.to_json());
        self.api.post(API, stage.path(), &event).await?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(extra: Value) -> ProactiveEvent {
        let mut v = json!({"event": {"name": "AMAZON.MessageAlert.Activated", "payload": {}}});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_fill_only_what_is_absent() {
        let mut given = event(json!({
            "timestamp": "2026-01-01T00:00:00Z", "referenceId": "mine",
            "expiryTime": "2026-01-01T01:00:00Z", "custom": 1
        }));
        let before = given.clone();
        assert!(given.fill_defaults(DEFAULT_EVENT_EXPIRY).is_ok());
        assert_eq!(given, before);
        assert_eq!(
            serde_json::to_value(&given)
                .ok()
                .and_then(|v| v.get("custom").cloned()),
            Some(json!(1))
        );

        let mut bare = event(json!({}));
        assert!(bare.fill_defaults(Duration::from_secs(600)).is_ok());
        let ts = OffsetDateTime::parse(bare.timestamp.as_deref().unwrap_or(""), &Rfc3339);
        let exp = OffsetDateTime::parse(bare.expiry_time.as_deref().unwrap_or(""), &Rfc3339);
        match (ts, exp) {
            (Ok(ts), Ok(exp)) => {
                let d = exp - ts;
                assert!(d >= time::Duration::seconds(599) && d <= time::Duration::seconds(601));
            }
            other => panic!("{other:?}"),
        }
        let id = bare.reference_id.unwrap_or_default();
        assert_eq!(id.len(), 36, "{id}");
        let mut other = event(json!({}));
        assert!(other.fill_defaults(DEFAULT_EVENT_EXPIRY).is_ok());
        assert_ne!(Some(id), other.reference_id);
        assert!(event(json!({}))
            .fill_defaults(Duration::from_secs(299))
            .is_err());
        assert!(event(json!({}))
            .fill_defaults(Duration::from_secs(86_401))
            .is_err());
    }

    #[test]
    fn audiences_and_stages() {
        assert_eq!(
            Audience::Unicast { user: "u".into() }.to_json(),
            json!({"type": "Unicast", "payload": {"user": "u"}})
        );
        assert_eq!(
            Audience::Multicast.to_json(),
            json!({"type": "Multicast", "payload": {}})
        );
        assert_eq!("LIVE".parse::<Stage>(), Ok(Stage::Live));
        assert_eq!(
            Stage::default().path(),
            "/v1/proactiveEvents/stages/development"
        );
        assert!("prod".parse::<Stage>().is_err());
    }
}
