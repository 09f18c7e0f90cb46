//! Out-of-session event requests: `AlexaSkillEvent.*` (skill lifecycle) and
//! `AlexaHouseholdListEvent.*` (list changes).

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::de::{rfc3339, rfc3339_opt};
use super::redact::Redacted;
use super::request::RequestKind;
use super::request_kind::RequestBody;

/// An `AlexaSkillEvent.*` request: the skill was enabled, disabled, account
/// linked, or its permissions changed.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillEventRequest {
    /// Which event: one of the `AlexaSkillEvent.*` kinds of [`RequestKind`].
    #[serde(skip, default = "RequestKind::unknown")]
    pub kind: RequestKind,
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `body` as received (e.g. `acceptedPermissions`; for `SkillAccountLinked`
    /// it holds the user's `accessToken`, redacted in `Debug`).
    #[serde(default)]
    pub body: Option<Value>,
    /// `eventCreationTime`.
    #[serde(default, deserialize_with = "rfc3339_opt")]
    pub event_creation_time: Option<OffsetDateTime>,
    /// `eventPublishingTime`.
    #[serde(default, deserialize_with = "rfc3339_opt")]
    pub event_publishing_time: Option<OffsetDateTime>,
}

impl RequestBody for SkillEventRequest {}

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
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEventRequest {
    /// Which event: one of the `AlexaHouseholdListEvent.*` kinds of [`RequestKind`].
    #[serde(skip, default = "RequestKind::unknown")]
    pub kind: RequestKind,
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `body` as received (`listId`, `listItemIds`).
    #[serde(default)]
    pub body: Option<Value>,
    /// `eventCreationTime`.
    #[serde(default, deserialize_with = "rfc3339_opt")]
    pub event_creation_time: Option<OffsetDateTime>,
    /// `eventPublishingTime`.
    #[serde(default, deserialize_with = "rfc3339_opt")]
    pub event_publishing_time: Option<OffsetDateTime>,
}

impl RequestBody for ListEventRequest {}
