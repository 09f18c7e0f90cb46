//! The `request` object: one enum variant per request type Alexa sends, with
//! an `Unknown` fallback so a new type reaches a fallback handler instead of
//! failing.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::de::rfc3339;
use super::enums::{ErrorType, SessionEndedReason};
use super::events::{ListEventRequest, SkillEventRequest};
use super::intent::{CanFulfillIntentRequest, IntentRequest};
use super::redact::Redacted;

/// The typed `request` object, by its `type`.
#[derive(Debug, Clone)]
pub enum Request {
    /// `LaunchRequest`
    Launch(LaunchRequest),
    /// `IntentRequest`
    Intent(IntentRequest),
    /// `SessionEndedRequest`
    SessionEnded(SessionEndedRequest),
    /// `CanFulfillIntentRequest`
    CanFulfillIntent(CanFulfillIntentRequest),
    /// `Messaging.MessageReceived`
    MessageReceived(MessageReceivedRequest),
    /// `AlexaSkillEvent.*`
    SkillEvent(SkillEventRequest),
    /// `AlexaHouseholdListEvent.*`
    ListEvent(ListEventRequest),
    /// `System.ExceptionEncountered`
    ExceptionEncountered(ExceptionEncounteredRequest),
    /// `Connections.Response`
    ConnectionsResponse(ConnectionsResponseRequest),
    /// Any other `type`, kept raw.
    Unknown(UnknownRequest),
}

/// Applies `$e` to the common fields of whichever variant `$self` is.
macro_rules! common {
    ($self:expr, $r:ident => $e:expr) => {
        match $self {
            Request::Launch($r) => $e,
            Request::Intent($r) => $e,
            Request::SessionEnded($r) => $e,
            Request::CanFulfillIntent($r) => $e,
            Request::MessageReceived($r) => $e,
            Request::SkillEvent($r) => $e,
            Request::ListEvent($r) => $e,
            Request::ExceptionEncountered($r) => $e,
            Request::ConnectionsResponse($r) => $e,
            Request::Unknown($r) => $e,
        }
    };
}

impl Request {
    /// `LaunchRequest`
    pub const LAUNCH: &'static str = "LaunchRequest";
    /// `IntentRequest`
    pub const INTENT: &'static str = "IntentRequest";
    /// `SessionEndedRequest`
    pub const SESSION_ENDED: &'static str = "SessionEndedRequest";
    /// `CanFulfillIntentRequest`
    pub const CAN_FULFILL_INTENT: &'static str = "CanFulfillIntentRequest";
    /// `Messaging.MessageReceived`
    pub const MESSAGE_RECEIVED: &'static str = "Messaging.MessageReceived";
    /// `System.ExceptionEncountered`
    pub const EXCEPTION_ENCOUNTERED: &'static str = "System.ExceptionEncountered";
    /// `Connections.Response`
    pub const CONNECTIONS_RESPONSE: &'static str = "Connections.Response";

    /// The wire `type`, e.g. `Messaging.MessageReceived`,
    /// `AlexaSkillEvent.SkillEnabled`, or an unknown type as received.
    pub fn request_type(&self) -> &str {
        match self {
            Request::Launch(_) => Self::LAUNCH,
            Request::Intent(_) => Self::INTENT,
            Request::SessionEnded(_) => Self::SESSION_ENDED,
            Request::CanFulfillIntent(_) => Self::CAN_FULFILL_INTENT,
            Request::MessageReceived(_) => Self::MESSAGE_RECEIVED,
            Request::SkillEvent(r) => r.kind.request_type(),
            Request::ListEvent(r) => r.kind.request_type(),
            Request::ExceptionEncountered(_) => Self::EXCEPTION_ENCOUNTERED,
            Request::ConnectionsResponse(_) => Self::CONNECTIONS_RESPONSE,
            Request::Unknown(r) => &r.request_type,
        }
    }

    /// `requestId`.
    pub fn request_id(&self) -> &str {
        common!(self, r => &r.request_id)
    }

    /// `timestamp`.
    pub fn timestamp(&self) -> OffsetDateTime {
        common!(self, r => r.timestamp)
    }

    /// `locale`, when sent.
    pub fn locale(&self) -> Option<&str> {
        common!(self, r => r.locale.as_deref())
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

/// The common fields read from an unknown request before keeping it raw.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommonFields {
    pub(crate) request_id: String,
    #[serde(deserialize_with = "rfc3339")]
    pub(crate) timestamp: OffsetDateTime,
    #[serde(default)]
    pub(crate) locale: Option<String>,
}
