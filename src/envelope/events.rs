//! Out-of-session event requests: `AlexaSkillEvent.*` (skill lifecycle) and
//! `AlexaHouseholdListEvent.*` (list changes).

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::de::{rfc3339, rfc3339_opt};
use super::redact::Redacted;

/// The kind of an `AlexaSkillEvent.<Kind>` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkillEventKind {
    /// `AlexaSkillEvent.SkillEnabled`
    SkillEnabled,
    /// `AlexaSkillEvent.SkillDisabled`
    SkillDisabled,
    /// `AlexaSkillEvent.SkillPermissionAccepted`
    SkillPermissionAccepted,
    /// `AlexaSkillEvent.SkillPermissionChanged`
    SkillPermissionChanged,
    /// `AlexaSkillEvent.SkillAccountLinked`
    SkillAccountLinked,
}

impl SkillEventKind {
    /// All kinds, in declaration order.
    pub const ALL: [SkillEventKind; 5] = [
        Self::SkillEnabled,
        Self::SkillDisabled,
        Self::SkillPermissionAccepted,
        Self::SkillPermissionChanged,
        Self::SkillAccountLinked,
    ];

    /// The full request type, e.g. `AlexaSkillEvent.SkillEnabled`.
    pub fn request_type(self) -> &'static str {
        match self {
            Self::SkillEnabled => "AlexaSkillEvent.SkillEnabled",
            Self::SkillDisabled => "AlexaSkillEvent.SkillDisabled",
            Self::SkillPermissionAccepted => "AlexaSkillEvent.SkillPermissionAccepted",
            Self::SkillPermissionChanged => "AlexaSkillEvent.SkillPermissionChanged",
            Self::SkillAccountLinked => "AlexaSkillEvent.SkillAccountLinked",
        }
    }

    /// The kind for a full request type, if it is an `AlexaSkillEvent.*` type.
    pub fn from_request_type(request_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.request_type() == request_type)
    }
}

/// The kind of an `AlexaHouseholdListEvent.<Kind>` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListEventKind {
    /// `AlexaHouseholdListEvent.ItemsCreated`
    ItemsCreated,
    /// `AlexaHouseholdListEvent.ItemsUpdated`
    ItemsUpdated,
    /// `AlexaHouseholdListEvent.ItemsDeleted`
    ItemsDeleted,
    /// `AlexaHouseholdListEvent.ListCreated`
    ListCreated,
    /// `AlexaHouseholdListEvent.ListUpdated`
    ListUpdated,
    /// `AlexaHouseholdListEvent.ListDeleted`
    ListDeleted,
}

impl ListEventKind {
    /// All kinds, in declaration order.
    pub const ALL: [ListEventKind; 6] = [
        Self::ItemsCreated,
        Self::ItemsUpdated,
        Self::ItemsDeleted,
        Self::ListCreated,
        Self::ListUpdated,
        Self::ListDeleted,
    ];

    /// The full request type, e.g. `AlexaHouseholdListEvent.ItemsCreated`.
    pub fn request_type(self) -> &'static str {
        match self {
            Self::ItemsCreated => "AlexaHouseholdListEvent.ItemsCreated",
            Self::ItemsUpdated => "AlexaHouseholdListEvent.ItemsUpdated",
            Self::ItemsDeleted => "AlexaHouseholdListEvent.ItemsDeleted",
            Self::ListCreated => "AlexaHouseholdListEvent.ListCreated",
            Self::ListUpdated => "AlexaHouseholdListEvent.ListUpdated",
            Self::ListDeleted => "AlexaHouseholdListEvent.ListDeleted",
        }
    }

    /// The kind for a full request type, if it is an `AlexaHouseholdListEvent.*` type.
    pub fn from_request_type(request_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.request_type() == request_type)
    }
}

/// The fields shared by skill and list events; `kind` comes from `type`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventFields {
    request_id: String,
    #[serde(deserialize_with = "rfc3339")]
    timestamp: OffsetDateTime,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default, deserialize_with = "rfc3339_opt")]
    event_creation_time: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "rfc3339_opt")]
    event_publishing_time: Option<OffsetDateTime>,
}

/// An `AlexaSkillEvent.*` request: the skill was enabled, disabled, account
/// linked, or its permissions changed.
#[derive(Clone)]
pub struct SkillEventRequest {
    /// Which event.
    pub kind: SkillEventKind,
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    pub timestamp: OffsetDateTime,
    /// `locale`.
    pub locale: Option<String>,
    /// `body` as received (e.g. `acceptedPermissions`; for `SkillAccountLinked`
    /// it holds the user's `accessToken`, redacted in `Debug`).
    pub body: Option<Value>,
    /// `eventCreationTime`.
    pub event_creation_time: Option<OffsetDateTime>,
    /// `eventPublishingTime`.
    pub event_publishing_time: Option<OffsetDateTime>,
}

impl SkillEventRequest {
    pub(crate) fn new(kind: SkillEventKind, f: EventFields) -> Self {
        Self {
            kind,
            request_id: f.request_id,
            timestamp: f.timestamp,
            locale: f.locale,
            body: f.body,
            event_creation_time: f.event_creation_time,
            event_publishing_time: f.event_publishing_time,
        }
    }
}

impl fmt::Debug for SkillEventRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkillEventRequest")
            .field("kind", &self.kind)
            .field("request_id", &self.request_id)
            .field("timestamp", &self.timestamp)
            .field("locale", &self.locale)
            .field("body", &Redacted(&self.body))
            .field("event_creation_time", &self.event_creation_time)
            .field("event_publishing_time", &self.event_publishing_time)
            .finish()
    }
}

/// An `AlexaHouseholdListEvent.*` request: a household list or its items
/// changed.
#[derive(Debug, Clone)]
pub struct ListEventRequest {
    /// Which event.
    pub kind: ListEventKind,
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    pub timestamp: OffsetDateTime,
    /// `locale`.
    pub locale: Option<String>,
    /// `body` as received (`listId`, `listItemIds`).
    pub body: Option<Value>,
    /// `eventCreationTime`.
    pub event_creation_time: Option<OffsetDateTime>,
    /// `eventPublishingTime`.
    pub event_publishing_time: Option<OffsetDateTime>,
}

impl ListEventRequest {
    pub(crate) fn new(kind: ListEventKind, f: EventFields) -> Self {
        Self {
            kind,
            request_id: f.request_id,
            timestamp: f.timestamp,
            locale: f.locale,
            body: f.body,
            event_creation_time: f.event_creation_time,
            event_publishing_time: f.event_publishing_time,
        }
    }
}
