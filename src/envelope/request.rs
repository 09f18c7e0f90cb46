//! The `request` object: the request-type table (one row per type Alexa
//! sends, see [`request_kind`](super::request_kind) for what a row
//! generates), with an `Unknown` fallback so a new type reaches a fallback
//! handler instead of failing.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::de::rfc3339;
use super::enums::{ErrorType, SessionEndedReason};
use super::error::ParseError;
use super::events::{ListEventRequest, SkillEventRequest};
use super::intent::{CanFulfillIntentRequest, IntentRequest};
use super::parse::check_message_size;
use super::redact::Redacted;
use super::request_kind::{request_types, Decode, RequestBody};

request_types! {
    /// `LaunchRequest`
    Launch(LaunchRequest) {
        /// `LaunchRequest`
        Launch = "LaunchRequest",
    } answer: true, late: false;
    /// `IntentRequest`
    Intent(IntentRequest) {
        /// `IntentRequest`
        Intent = "IntentRequest",
    } answer: true, late: false;
    /// `SessionEndedRequest`
    SessionEnded(SessionEndedRequest) {
        /// `SessionEndedRequest`
        SessionEnded = "SessionEndedRequest",
    } answer: false, late: false;
    /// `CanFulfillIntentRequest`
    CanFulfillIntent(CanFulfillIntentRequest) {
        /// `CanFulfillIntentRequest`
        CanFulfillIntent = "CanFulfillIntentRequest",
    } answer: true, late: false;
    /// `Messaging.MessageReceived`
    MessageReceived(MessageReceivedRequest) {
        /// `Messaging.MessageReceived`
        MessageReceived = "Messaging.MessageReceived",
    } answer: true, late: false;
    /// `AlexaSkillEvent.*`
    SkillEvent(SkillEventRequest) {
        /// `AlexaSkillEvent.SkillEnabled`
        SkillEnabled = "AlexaSkillEvent.SkillEnabled",
        /// `AlexaSkillEvent.SkillDisabled`
        SkillDisabled = "AlexaSkillEvent.SkillDisabled",
        /// `AlexaSkillEvent.SkillPermissionAccepted`
        SkillPermissionAccepted = "AlexaSkillEvent.SkillPermissionAccepted",
        /// `AlexaSkillEvent.SkillPermissionChanged`
        SkillPermissionChanged = "AlexaSkillEvent.SkillPermissionChanged",
        /// `AlexaSkillEvent.SkillAccountLinked`
        SkillAccountLinked = "AlexaSkillEvent.SkillAccountLinked",
    } answer: false, late: true;
    /// `AlexaHouseholdListEvent.*`
    ListEvent(ListEventRequest) {
        /// `AlexaHouseholdListEvent.ItemsCreated`
        ItemsCreated = "AlexaHouseholdListEvent.ItemsCreated",
        /// `AlexaHouseholdListEvent.ItemsUpdated`
        ItemsUpdated = "AlexaHouseholdListEvent.ItemsUpdated",
        /// `AlexaHouseholdListEvent.ItemsDeleted`
        ItemsDeleted = "AlexaHouseholdListEvent.ItemsDeleted",
        /// `AlexaHouseholdListEvent.ListCreated`
        ListCreated = "AlexaHouseholdListEvent.ListCreated",
        /// `AlexaHouseholdListEvent.ListUpdated`
        ListUpdated = "AlexaHouseholdListEvent.ListUpdated",
        /// `AlexaHouseholdListEvent.ListDeleted`
        ListDeleted = "AlexaHouseholdListEvent.ListDeleted",
    } answer: false, late: false;
    /// `System.ExceptionEncountered`
    ExceptionEncountered(ExceptionEncounteredRequest) {
        /// `System.ExceptionEncountered`
        ExceptionEncountered = "System.ExceptionEncountered",
    } answer: false, late: false;
    /// `Connections.Response`
    ConnectionsResponse(ConnectionsResponseRequest) {
        /// `Connections.Response`
        ConnectionsResponse = "Connections.Response",
    } answer: false, late: false;
}

impl Request {
    /// The wire `type`, e.g. `Messaging.MessageReceived`,
    /// `AlexaSkillEvent.SkillEnabled`, or an unknown type as received.
    pub fn request_type(&self) -> &str {
        match self {
            Request::Unknown(r) => &r.request_type,
            known => known.kind().as_str(),
        }
    }
}

impl RequestBody for LaunchRequest {}
impl RequestBody for IntentRequest {}
impl RequestBody for SessionEndedRequest {}
impl RequestBody for CanFulfillIntentRequest {}
impl RequestBody for ExceptionEncounteredRequest {}
impl RequestBody for ConnectionsResponseRequest {}

impl RequestBody for MessageReceivedRequest {
    fn validate(&self) -> Result<(), ParseError> {
        check_message_size(&self.message)
    }
}

/// `LaunchRequest`: the user opened the skill without asking for anything.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchRequest {
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
}

/// `SessionEndedRequest`: the session ended (user, error, or reprompts).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEndedRequest {
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `reason`.
    #[serde(default)]
    pub reason: Option<SessionEndedReason>,
    /// `error` (when `reason` is `ERROR`).
    #[serde(default)]
    pub error: Option<SessionEndedError>,
}

/// `SessionEndedRequest.error`.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionEndedError {
    /// `type`.
    #[serde(rename = "type")]
    pub error_type: ErrorType,
    /// `message`.
    #[serde(default)]
    pub message: Option<String>,
}

/// `Messaging.MessageReceived`: an out-of-session message sent through the
/// Skill Messaging API. Acknowledge with HTTP 200 or Alexa redelivers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageReceivedRequest {
    /// `requestId`: unique per message, stable across redeliveries.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `message`: any JSON value, at most [`super::MAX_MESSAGE_BYTES`]
    /// serialized. Required.
    pub message: Value,
}

/// `System.ExceptionEncountered`: the skill's previous response (a
/// directive) failed on the device.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionEncounteredRequest {
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `error` (`type`, `message`) as received.
    #[serde(default)]
    pub error: Option<Value>,
    /// `cause` (`requestId` of the failed request) as received.
    #[serde(default)]
    pub cause: Option<Value>,
}

/// `Connections.Response`: the result of a `Connections.SendRequest` /
/// `Connections.StartConnection` directive (purchases, tasks, ...).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionsResponseRequest {
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `name`, e.g. `Buy`.
    #[serde(default)]
    pub name: Option<String>,
    /// `status` (`code`, `message`) as received.
    #[serde(default)]
    pub status: Option<Value>,
    /// `payload` as received.
    #[serde(default)]
    pub payload: Option<Value>,
    /// `token`: the correlation token the skill sent with the directive.
    #[serde(default)]
    pub token: Option<String>,
}

impl fmt::Debug for ConnectionsResponseRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionsResponseRequest")
            .field("request_id", &self.request_id)
            .field("timestamp", &self.timestamp)
            .field("locale", &self.locale)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("payload", &Redacted(&self.payload))
            .field("token", &self.token)
            .finish()
    }
}

/// A request whose `type` this crate does not know.
#[derive(Clone)]
pub struct UnknownRequest {
    /// `type` as received.
    pub request_type: String,
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    pub timestamp: OffsetDateTime,
    /// `locale`.
    pub locale: Option<String>,
    /// The whole `request` object as received.
    pub raw: Value,
}

impl fmt::Debug for UnknownRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnknownRequest")
            .field("request_type", &self.request_type)
            .field("request_id", &self.request_id)
            .field("timestamp", &self.timestamp)
            .field("locale", &self.locale)
            .field("raw", &Redacted(&self.raw))
            .finish()
    }
}

impl UnknownRequest {
    /// Read the common fields, keep the whole object raw.
    pub(crate) fn decode<D: Decode>(request_type: &str, raw: Value) -> Result<Self, ParseError> {
        let common: CommonFields = D::decode_ref(&raw)?;
        Ok(Self {
            request_type: request_type.to_owned(),
            request_id: common.request_id,
            timestamp: common.timestamp,
            locale: common.locale,
            raw,
        })
    }
}

/// The common fields read from an unknown request before keeping it raw.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonFields {
    request_id: String,
    #[serde(deserialize_with = "rfc3339")]
    timestamp: OffsetDateTime,
    #[serde(default)]
    locale: Option<String>,
}

#[cfg(test)]
#[allow(dead_code)] // the test table generates more than the test reads
mod tests {
    use serde::Deserialize;
    use serde_json::{json, Value};
    use time::OffsetDateTime;

    use super::super::de::rfc3339;
    use super::super::error::ParseError;
    use super::super::request_kind::{request_types, Decode, RequestBody};

    /// The whole of adding a request type: the struct ...
    #[derive(Debug, Clone, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NewThingRequest {
        /// `requestId`.
        pub request_id: String,
        /// `timestamp`.
        #[serde(deserialize_with = "rfc3339")]
        pub timestamp: OffsetDateTime,
        /// `locale`.
        #[serde(default)]
        pub locale: Option<String>,
        /// Its own field.
        pub thing: String,
    }
    impl RequestBody for NewThingRequest {}

    // ... and its row (next to an existing one, to show they coexist).
    request_types! {
        /// `LaunchRequest`
        Launch(super::LaunchRequest) {
            /// `LaunchRequest`
            Launch = "LaunchRequest",
        } answer: true, late: false;
        /// `Alexa.NewThing`
        NewThing(NewThingRequest) {
            /// `Alexa.NewThing`
            NewThing = "Alexa.NewThing",
        } answer: false, late: true;
    }

    struct Json;
    impl Decode for Json {
        fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ParseError> {
            serde_json::from_value(value).map_err(|e| {
                ParseError::new(
                    super::super::ParseErrorKind::InvalidField,
                    "",
                    e.to_string(),
                )
            })
        }
        fn decode_ref<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, ParseError> {
            T::deserialize(value).map_err(|e| {
                ParseError::new(
                    super::super::ParseErrorKind::InvalidField,
                    "",
                    e.to_string(),
                )
            })
        }
    }

    #[test]
    fn adding_a_request_type_is_one_row_and_one_struct() {
        let kind = RequestKind::from_wire("Alexa.NewThing");
        assert_eq!(kind, RequestKind::NewThing);
        assert_eq!(kind.as_str(), "Alexa.NewThing");
        assert_eq!(
            RequestKind::ALL,
            &[RequestKind::Launch, RequestKind::NewThing]
        );
        assert!(!kind.needs_answer());
        let configured = std::time::Duration::from_secs(150);
        assert_eq!(
            kind.timestamp_tolerance(configured),
            crate::envelope::LATE_TOLERANCE
        );
        assert_eq!(
            RequestKind::Launch.timestamp_tolerance(configured),
            configured
        );

        let value = json!({"type": "Alexa.NewThing", "requestId": "r-9",
            "timestamp": "2022-10-03T16:20:50Z", "locale": "de-DE", "thing": "x"});
        let request = Request::decode::<Json>(kind, "", value).expect("parses");
        let Request::NewThing(r) = &request else {
            panic!("{request:?}")
        };
        assert_eq!(r.thing, "x");
        assert_eq!(request.kind(), RequestKind::NewThing);
        assert_eq!(request.request_id(), "r-9");
        assert_eq!(request.locale(), Some("de-DE"));

        let other = json!({"type": "Alexa.Other", "requestId": "r-10",
            "timestamp": "2022-10-03T16:20:50Z"});
        let request = Request::decode::<Json>(RequestKind::Unknown, "Alexa.Other", other)
            .expect("unknown types parse");
        assert_eq!(request.kind(), RequestKind::Unknown);
        assert_eq!(request.request_id(), "r-10");
    }

    #[test]
    fn family_rows_keep_the_kind_from_type() {
        let value = json!({"type": "AlexaSkillEvent.SkillEnabled", "requestId": "r",
            "timestamp": "2022-10-03T16:20:50Z"});
        let kind = super::RequestKind::from_wire("AlexaSkillEvent.SkillEnabled");
        let request = super::Request::decode::<Json>(kind, "", value).expect("parses");
        assert_eq!(request.kind(), super::RequestKind::SkillEnabled);
        assert_eq!(request.request_type(), "AlexaSkillEvent.SkillEnabled");
        assert!(kind.is_delivered_late());
    }
}
