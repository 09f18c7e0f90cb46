//! The Reminders API (`/v1/alerts/reminders`), called with one request's
//! `apiAccessToken` — in session, or from a `Messaging.MessageReceived`
//! handler to act for the user while they are not talking to Alexa. The user
//! must have granted `alexa::alerts:reminders:skill:readwrite`
//! ([`REMINDERS_PERMISSION`]); without it the API answers 401 or 403
//! ([`ApiError::is_permission_denied`]).
//!
//! The types follow Amazon's JSON shape (and the official SDK models), so a
//! reminder can also be built from JSON:
//!
//! ```
//! use alexa_endpoint::api::ReminderRequest;
//!
//! let request: ReminderRequest = serde_json::from_value(serde_json::json!({
//!     "requestTime": "2026-11-29T12:00:00.000",
//!     "trigger": {"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 3600},
//!     "alertInfo": {"spokenInfo": {"content": [{"locale": "en-US", "text": "walk the dog"}]}},
//!     "pushNotification": {"status": "ENABLED"}
//! })).unwrap();
//! ```
//!
//! A `Messaging.MessageReceived` handler that changes what a reminder says
//! (Amazon's "update a reminder out of session" flow):
//!
//! ```no_run
//! use alexa_endpoint::api::ApiError;
//! use alexa_endpoint::envelope::MessageReceivedRequest;
//! use alexa_endpoint::{HandlerError, HandlerResult, RequestContext, Response};
//!
//! /// The app sends `{"reminder": "<alertToken>", "text": "Pick up the kids at 5"}`.
//! async fn on_message(ctx: RequestContext, msg: MessageReceivedRequest) -> HandlerResult {
//!     let (Some(id), Some(text)) = (msg.message["reminder"].as_str(), msg.message["text"].as_str())
//!     else {
//!         return Ok(Response::reject_message("message needs \"reminder\" and \"text\" strings"));
//!     };
//!     // Refuses (sending nothing) an apiEndpoint outside alexa_api.allowed_endpoints.
//!     let reminders = ctx.reminders()?;
//!     let current = match reminders.get(id).await {
//!         Ok(reminder) => reminder,
//!         // Deleted meanwhile, or the permission was revoked: no re-delivery
//!         // can change that, so acknowledge (logged at error, counted).
//!         Err(e) if e.is_not_found() || e.is_permission_denied() => {
//!             return Ok(Response::reject_message(e.to_string()))
//!         }
//!         Err(e) => return Err(api_error(e)),
//!     };
//!     let Some(mut update) = current.to_request() else {
//!         return Ok(Response::reject_message("the reminder has no trigger or text"));
//!     };
//!     for content in &mut update.alert_info.spoken_info.content {
//!         content.text = text.to_owned();
//!         content.ssml = None;
//!     }
//!     reminders.update(id, &update).await.map_err(api_error)?;
//!     // Acknowledged only now: an error above answers 5xx and Alexa re-delivers.
//!     Ok(Response::ack())
//! }
//!
//! /// 503 for what may pass (429, 5xx, timeouts: Alexa re-delivers), else 500.
//! fn api_error(e: ApiError) -> HandlerError {
//!     if e.is_transient() {
//!         HandlerError::unavailable(e)
//!     } else {
//!         HandlerError::new(e)
//!     }
//! }
//! ```

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::http::{decode_json, encode_segment, Http, UserApi};
use super::ApiError;

/// Observer name of Reminders calls.
const API: &str = "reminders";
/// Path of the reminders collection.
const REMINDERS_PATH: &str = "/v1/alerts/reminders";

/// The permission a skill needs to read and write the user's reminders (the
/// scope of a permissions consent card).
pub const REMINDERS_PERMISSION: &str = "alexa::alerts:reminders:skill:readwrite";

/// When a reminder goes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Trigger {
    /// At a point in time (`scheduledTime`, local to `timeZoneId`), possibly
    /// recurring.
    #[serde(rename = "SCHEDULED_ABSOLUTE", rename_all = "camelCase")]
    ScheduledAbsolute {
        /// Local time without offset, e.g. `2026-11-30T09:00:00.000`.
        /// Optional for a recurring reminder with a `startDateTime`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scheduled_time: Option<String>,
        /// IANA time zone, e.g. `Europe/Berlin`; the device's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_zone_id: Option<String>,
        /// Repeat rule, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recurrence: Option<Recurrence>,
    },
    /// This many seconds after the request.
    #[serde(rename = "SCHEDULED_RELATIVE", rename_all = "camelCase")]
    ScheduledRelative {
        /// Seconds from now.
        offset_in_seconds: u64,
        /// IANA time zone, optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_zone_id: Option<String>,
    },
}

/// How a `SCHEDULED_ABSOLUTE` reminder repeats: either `freq`/`byDay`/
/// `interval`, or RFC 5545 `recurrenceRules` with a start and end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recurrence {
    /// `WEEKLY` or `DAILY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq: Option<String>,
    /// Days for `WEEKLY`: `MO`, `TU`, ... `SU`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_day: Option<Vec<String>>,
    /// Every n-th period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// First occurrence (local time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    /// Last occurrence (local time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
    /// RFC 5545 rules, e.g. `FREQ=DAILY;BYHOUR=6;BYMINUTE=10;BYSECOND=0;INTERVAL=1;`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_rules: Option<Vec<String>>,
}

/// What Alexa says when the reminder goes off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertInfo {
    /// The spoken text, per locale.
    pub spoken_info: SpokenInfo,
}

/// `alertInfo.spokenInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpokenInfo {
    /// One entry per locale.
    #[serde(default)]
    pub content: Vec<SpokenText>,
}

/// The reminder's text in one locale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpokenText {
    /// e.g. `en-US`.
    pub locale: String,
    /// Plain text (also shown in the Alexa app).
    #[serde(default)]
    pub text: String,
    /// SSML, optional (`<speak>...</speak>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssml: Option<String>,
}

/// Whether the reminder also shows up as a push notification in the Alexa app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PushNotificationStatus {
    /// Notify.
    #[default]
    Enabled,
    /// Do not notify.
    Disabled,
}

/// `pushNotification`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotification {
    /// Enabled or disabled.
    pub status: PushNotificationStatus,
}

/// The body of a create (`POST`) or update (`PUT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderRequest {
    /// When the request is made (local time without offset, or UTC).
    pub request_time: String,
    /// When the reminder goes off.
    pub trigger: Trigger,
    /// What is said.
    pub alert_info: AlertInfo,
    /// Push notification on or off.
    #[serde(default)]
    pub push_notification: PushNotification,
}

impl ReminderRequest {
    /// A reminder saying `text` in `locale` when `trigger` fires, with a push
    /// notification and `requestTime` = now (UTC).
    pub fn new(trigger: Trigger, locale: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            request_time: request_time_now(),
            trigger,
            alert_info: AlertInfo {
                spoken_info: SpokenInfo {
                    content: vec![SpokenText {
                        locale: locale.into(),
                        text: text.into(),
                        ssml: None,
                    }],
                },
            },
            push_notification: PushNotification::default(),
        }
    }
}

/// Now in UTC, as `requestTime` is usually written: `2026-11-29T13:45:00.000`.
fn request_time_now() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
    );
    OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000".to_owned())
}

/// Whether a reminder is still to go off.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReminderStatus {
    /// Scheduled.
    On,
    /// Gone off (or turned off).
    Completed,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

/// A reminder as the API returns it: everything on `GET`, the summary
/// (`alertToken`, times, `status`, `version`, `href`) on create and update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    /// The reminder's id: what `get`, `update` and `delete` take.
    pub alert_token: String,
    /// Creation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    /// Last update time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_time: Option<String>,
    /// On or completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReminderStatus>,
    /// Version (a string; some answers send a number).
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// Path of the reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// When it goes off (`GET` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// What is said (`GET` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_info: Option<AlertInfo>,
    /// Push notification (`GET` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_notification: Option<PushNotification>,
}

impl Reminder {
    /// The reminder as a [`ReminderRequest`] (for an update), when the
    /// answer had its trigger and text (a `GET` answer does). `requestTime`
    /// is now.
    pub fn to_request(&self) -> Option<ReminderRequest> {
        Some(ReminderRequest {
            request_time: request_time_now(),
            trigger: self.trigger.clone()?,
            alert_info: self.alert_info.clone()?,
            push_notification: self.push_notification.unwrap_or_default(),
        })
    }
}

/// Pagination links of the reminders list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderLinks {
    /// Path of the next page, if any.
    #[serde(default)]
    pub next: Option<String>,
}

/// `GET /v1/alerts/reminders`: the skill's reminders for this user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminders {
    /// How many there are (a string in Amazon's reference; a number is
    /// accepted too).
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_count: Option<String>,
    /// The reminders.
    #[serde(default)]
    pub alerts: Vec<Reminder>,
    /// Pagination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<ReminderLinks>,
}

/// A JSON string or number, as a string.
fn string_or_number<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(serde_json::Number),
    }
    Ok(Option::<Raw>::deserialize(de)?.map(|raw| match raw {
        Raw::S(s) => s,
        Raw::N(n) => n.to_string(),
    }))
}

/// Reminders API client bound to one request's endpoint and token. Made by
/// [`AlexaApi::reminders`](super::AlexaApi::reminders) (or
/// [`RequestContext::reminders`](crate::RequestContext::reminders)), which
/// checks the endpoint against the allowlist. `Debug` never shows the token.
///
/// Retries (see [`retry`](super::retry)): `list`, `get`, `update` and
/// `delete` are idempotent and retried after 429, 5xx, timeouts and
/// transport errors; `create` only after 429, 503 or a connection that was
/// never made, so that one call never creates two reminders.
#[derive(Clone, Debug)]
pub struct RemindersClient {
    api: UserApi,
}

impl RemindersClient {
    /// `base` must already have passed the allowlist.
    pub(crate) fn new(http: Http, base: String, token: SecretString) -> Self {
        Self {
            api: UserApi::new(http, base, token),
        }
    }

    /// The `apiEndpoint` this client talks to (no trailing slash).
    pub fn endpoint(&self) -> &str {
        self.api.base()
    }

    /// Bound the retries of this client's calls by `deadline` (a handler's:
    /// [`RequestContext::reminders`](crate::RequestContext::reminders) sets it).
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.api.set_deadline(deadline);
        self
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&ReminderRequest>,
    ) -> Result<bytes::Bytes, ApiError> {
        self.api.call(API, method, path, body).await
    }

    fn reminder_path(id: &str) -> Result<String, ApiError> {
        if id.is_empty() {
            return Err(ApiError::InvalidInput("the reminder id is empty".into()));
        }
        Ok(format!("{REMINDERS_PATH}/{}", encode_segment(id)))
    }

    /// All of this skill's reminders for the user (`GET /v1/alerts/reminders`).
    pub async fn list(&self) -> Result<Reminders, ApiError> {
        decode_json(&self.call(Method::GET, REMINDERS_PATH, None).await?)
    }

    /// One reminder (`GET /v1/alerts/reminders/{alertToken}`).
    pub async fn get(&self, id: &str) -> Result<Reminder, ApiError> {
        let path = Self::reminder_path(id)?;
        decode_json(&self.call(Method::GET, &path, None).await?)
    }

    /// Create a reminder (`POST /v1/alerts/reminders`; Alexa answers 201).
    /// Out of session Alexa refuses creates: use it in session.
    pub async fn create(&self, request: &ReminderRequest) -> Result<Reminder, ApiError> {
        decode_json(
            &self
                .call(Method::POST, REMINDERS_PATH, Some(request))
                .await?,
        )
    }

    /// Replace a reminder (`PUT /v1/alerts/reminders/{alertToken}`).
    pub async fn update(&self, id: &str, request: &ReminderRequest) -> Result<Reminder, ApiError> {
        let path = Self::reminder_path(id)?;
        let body = self.call(Method::PUT, &path, Some(request)).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            // Any 2xx is success; an answer without a body still updated it.
            return Ok(Reminder {
                alert_token: id.to_owned(),
                ..Reminder::default()
            });
        }
        decode_json(&body)
    }

    /// Delete a reminder (`DELETE /v1/alerts/reminders/{alertToken}`).
    pub async fn delete(&self, id: &str) -> Result<(), ApiError> {
        let path = Self::reminder_path(id)?;
        self.call(Method::DELETE, &path, None).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_round_trips_amazons_shape() {
        let wire = json!({
            "requestTime": "2019-09-22T19:04:00.672",
            "trigger": {
                "type": "SCHEDULED_ABSOLUTE",
                "scheduledTime": "2019-09-22T19:00:00.000",
                "timeZoneId": "America/Los_Angeles",
                "recurrence": {"freq": "WEEKLY", "byDay": ["MO", "WE"], "interval": 1}
            },
            "alertInfo": {"spokenInfo": {"content": [
                {"locale": "en-US", "text": "walk the dog", "ssml": "<speak>walk the dog</speak>"}
            ]}},
            "pushNotification": {"status": "ENABLED"}
        });
        let request: ReminderRequest = serde_json::from_value(wire.clone()).unwrap_or_else(|e| {
            panic!("{e}");
        });
        assert_eq!(serde_json::to_value(&request).ok(), Some(wire));
        let relative = json!({"type": "SCHEDULED_RELATIVE", "offsetInSeconds": 7200});
        let trigger: Option<Trigger> = serde_json::from_value(relative.clone()).ok();
        assert_eq!(
            trigger,
            Some(Trigger::ScheduledRelative {
                offset_in_seconds: 7200,
                time_zone_id: None
            })
        );
        assert_eq!(serde_json::to_value(&trigger).ok(), Some(relative));
    }

    #[test]
    fn response_accepts_string_or_number_versions_and_unknown_status() {
        let r: Reminder = serde_json::from_value(json!({
            "alertToken": "t", "status": "PAUSED", "version": 3
        }))
        .unwrap_or_default();
        assert_eq!(r.alert_token, "t");
        assert_eq!(r.version.as_deref(), Some("3"));
        assert_eq!(r.status, Some(ReminderStatus::Unknown));
        let list: Reminders =
            serde_json::from_value(json!({"totalCount": "2", "alerts": []})).unwrap_or_default();
        assert_eq!(list.total_count.as_deref(), Some("2"));
    }
}
