//! `IntentRequest` and `CanFulfillIntentRequest`, and the intent they carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;

use super::de::{null_as_default, rfc3339};
use super::enums::{ConfirmationStatus, DialogState};

/// `IntentRequest`: the user asked for something the interaction model maps
/// to an intent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentRequest {
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`, e.g. `en-US`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `dialogState` (only with a dialog model).
    #[serde(default)]
    pub dialog_state: Option<DialogState>,
    /// `intent`.
    pub intent: Intent,
}

/// `CanFulfillIntentRequest`: Alexa asks whether the skill could handle an
/// intent, before choosing a skill for a name-free request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanFulfillIntentRequest {
    /// `requestId`.
    pub request_id: String,
    /// `timestamp`.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: OffsetDateTime,
    /// `locale`, e.g. `en-US`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `intent`.
    pub intent: Intent,
}

/// `intent`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    /// `name`, e.g. `AMAZON.HelpIntent` or `OrderPizza`.
    pub name: String,
    /// `confirmationStatus`.
    #[serde(default)]
    pub confirmation_status: Option<ConfirmationStatus>,
    /// `slots`, by slot name (empty when absent or `null`).
    #[serde(default, deserialize_with = "slots")]
    pub slots: BTreeMap<String, Slot>,
}

impl Intent {
    /// The slot's `value`, if the slot exists and was filled.
    pub fn slot_value(&self, name: &str) -> Option<&str> {
        self.slots.get(name)?.value.as_deref()
    }
}

/// One entry of `intent.slots`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// `name` (taken from the map key when absent).
    #[serde(default)]
    pub name: String,
    /// `value`: what the user said, when the slot was filled.
    #[serde(default)]
    pub value: Option<String>,
    /// `confirmationStatus`.
    #[serde(default)]
    pub confirmation_status: Option<ConfirmationStatus>,
    /// `resolutions` (entity resolution) as received.
    #[serde(default)]
    pub resolutions: Option<Value>,
    /// `slotValue` (single or multiple values) as received.
    #[serde(default)]
    pub slot_value: Option<Value>,
}

fn slots<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Slot>, D::Error> {
    let mut slots: BTreeMap<String, Slot> = null_as_default(d)?;
    for (key, slot) in &mut slots {
        if slot.name.is_empty() {
            slot.name.clone_from(key);
        }
    }
    Ok(slots)
}
