//! The `list-sync` built-in handler's logic: apply the list changes a message
//! describes through the List Management API.
//!
//! Message (the `message` of `Messaging.MessageReceived`):
//!
//! ```json
//! {"list": "shopping", "add": ["milk"], "complete": ["eggs"], "remove": ["bread"]}
//! ```
//!
//! - `list`: `"shopping"` or `"todo"` (any case) name the user's default
//!   lists, found by the suffix of their base64-decoded `listId` because
//!   their names are localized; any other value is a custom list's name (an
//!   exact match first, else the only case-insensitive match).
//! - `add`, `complete`, `remove`: arrays of item values; each optional, at
//!   least one present. A value may appear in only one of them.
//!
//! Alexa re-delivers a message until it is acknowledged, so applying it is
//! idempotent: values are compared trimmed and case-insensitively
//! ("Milk" = "milk "), `add` skips a value already active, `complete` skips a
//! value that is not active (already completed or absent), `remove` deletes
//! every item with that value, active or completed, and skips an absent one.
//! An item that vanishes between the read and the write (404) counts as done.
//!
//! A message that can never succeed (wrong shape, unknown or archived list)
//! is [`ListSyncOutcome::Rejected`]: the caller acknowledges it so that Alexa
//! stops re-delivering, and logs and counts it. An API failure is `Err`: no
//! acknowledgement, Alexa re-delivers.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::api::{ApiError, DefaultList, ItemStatus, ListItem, ListState, ListsClient};
use crate::dispatch::{HandlerResult, RequestContext};
use crate::envelope::{MessageReceivedRequest, Response};

/// What [`apply`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSyncOutcome {
    /// The changes are applied. Counts are per value in the message.
    Applied {
        /// Values created as new active items.
        added: usize,
        /// Values whose active item(s) were marked completed.
        completed: usize,
        /// Values whose item(s) were deleted.
        removed: usize,
        /// Values that needed no change (already active, not active, absent).
        skipped: usize,
    },
    /// The message can never succeed (not this shape, unknown list):
    /// acknowledge it so that Alexa stops retrying, log at error and count.
    Rejected {
        /// Why, for the log. Never contains a token.
        reason: String,
    },
}

/// The `list-sync` handler: apply the message with the request's
/// `apiAccessToken`, then acknowledge.
///
/// A message that can never succeed is acknowledged with
/// [`Response::reject_message`] (logged at error, counted); an API failure is
/// a handler error through `?` — 503 when transient (429, 5xx, timeout), else
/// 500 — so Alexa re-delivers.
pub async fn handle<S>(ctx: RequestContext<S>, msg: MessageReceivedRequest) -> HandlerResult {
    let lists = match ctx.lists() {
        Ok(lists) => lists,
        // No token, or an apiEndpoint we will not send it to: no re-delivery
        // of this same message can change that.
        Err(e) => return Ok(Response::reject_message(e.to_string())),
    };
    match apply(&lists, &msg.message).await? {
        ListSyncOutcome::Applied {
            added,
            completed,
            removed,
            skipped,
        } => {
            tracing::info!(
                request_id = ctx.request_id(),
                added,
                completed,
                removed,
                skipped,
                "list changes applied"
            );
            Ok(Response::ack())
        }
        ListSyncOutcome::Rejected { reason } => Ok(Response::reject_message(reason)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    list: String,
    add: Option<Vec<String>>,
    complete: Option<Vec<String>>,
    remove: Option<Vec<String>>,
}

/// A validated message.
#[derive(Debug)]
struct Changes {
    list: String,
    add: Vec<String>,
    complete: Vec<String>,
    remove: Vec<String>,
}

/// The comparison key of an item value.
fn key(value: &str) -> String {
    value.trim().to_lowercase()
}

fn parse(message: &serde_json::Value) -> Result<Changes, String> {
    let m: Message = serde_path_to_error::deserialize(message)
        .map_err(|e| format!("not a list-sync message: {e}"))?;
    if m.list.trim().is_empty() {
        return Err("not a list-sync message: `list` is empty".into());
    }
    if m.add.is_none() && m.complete.is_none() && m.remove.is_none() {
        return Err(
            "not a list-sync message: none of `add`, `complete`, `remove` is present".into(),
        );
    }
    let changes = Changes {
        list: m.list.trim().to_owned(),
        add: m.add.unwrap_or_default(),
        complete: m.complete.unwrap_or_default(),
        remove: m.remove.unwrap_or_default(),
    };
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (field, values) in [
        ("add", &changes.add),
        ("complete", &changes.complete),
        ("remove", &changes.remove),
    ] {
        for value in values {
            if value.trim().is_empty() {
                return Err(format!("`{field}` contains an empty value"));
            }
            match seen.get(&key(value)) {
                Some(other) if *other != field => {
                    return Err(format!(
                        "value {value:?} is in both `{other}` and `{field}`"
                    ))
                }
                _ => {
                    seen.insert(key(value), field);
                }
            }
        }
    }
    Ok(changes)
}

/// Apply a list-sync `message` with `lists` (the request's token).
///
/// `Ok(Applied)` and `Ok(Rejected)` are both acknowledged by the caller;
/// `Err` (any API failure, 403 included) is not, so Alexa re-delivers.
pub async fn apply(
    lists: &ListsClient,
    message: &serde_json::Value,
) -> Result<ListSyncOutcome, ApiError> {
    let changes = match parse(message) {
        Ok(c) => c,
        Err(reason) => return Ok(ListSyncOutcome::Rejected { reason }),
    };

    let default = if changes.list.eq_ignore_ascii_case("shopping") {
        Some(DefaultList::Shopping)
    } else if changes.list.eq_ignore_ascii_case("todo") {
        Some(DefaultList::Todo)
    } else {
        None
    };
    let found = match default {
        Some(kind) => lists.find_default_list(kind).await?,
        None => lists.find_list_by_name(&changes.list).await?,
    };
    let Some(list) = found else {
        return Ok(ListSyncOutcome::Rejected {
            reason: format!("the user has no list {:?}", changes.list),
        });
    };
    if list.state == ListState::Archived {
        return Ok(ListSyncOutcome::Rejected {
            reason: format!("list {:?} is archived", list.name),
        });
    }
    let list_id = list.list_id.as_str();

    let mut active = by_value(lists.list_all(list_id, ItemStatus::Active).await?.items);
    let mut done = if changes.remove.is_empty() {
        HashMap::new()
    } else {
        by_value(lists.list_all(list_id, ItemStatus::Completed).await?.items)
    };

    let (mut added, mut completed, mut removed, mut skipped) = (0, 0, 0, 0);

    let mut added_now = HashSet::new();
    for value in &changes.add {
        let k = key(value);
        if active.contains_key(&k) || added_now.contains(&k) {
            skipped += 1;
            continue;
        }
        let item = lists
            .create_item(list_id, value.trim(), ItemStatus::Active)
            .await?;
        active.entry(k.clone()).or_default().push(item);
        added_now.insert(k);
        added += 1;
    }

    for value in &changes.complete {
        let mut any = false;
        for item in active.remove(&key(value)).unwrap_or_default() {
            let updated = lists
                .update_item(
                    list_id,
                    &item.id,
                    &item.value,
                    ItemStatus::Completed,
                    item.version,
                )
                .await;
            any |= gone_is_fine(updated.map(drop))?;
        }
        if any {
            completed += 1;
        } else {
            skipped += 1;
        }
    }

    for value in &changes.remove {
        let k = key(value);
        let items = active
            .remove(&k)
            .into_iter()
            .chain(done.remove(&k))
            .flatten();
        let mut any = false;
        for item in items {
            any |= gone_is_fine(lists.delete_item(list_id, &item.id).await)?;
        }
        if any {
            removed += 1;
        } else {
            skipped += 1;
        }
    }

    tracing::debug!(added, completed, removed, skipped, "list-sync applied");
    Ok(ListSyncOutcome::Applied {
        added,
        completed,
        removed,
        skipped,
    })
}

fn by_value(items: Vec<ListItem>) -> HashMap<String, Vec<ListItem>> {
    let mut map: HashMap<String, Vec<ListItem>> = HashMap::new();
    for item in items {
        map.entry(key(&item.value)).or_default().push(item);
    }
    map
}

/// `Ok(true)` when the write happened, `Ok(false)` when the item was already
/// gone (404: someone else completed or removed it meanwhile).
fn gone_is_fine(result: Result<(), ApiError>) -> Result<bool, ApiError> {
    match result {
        Ok(()) => Ok(true),
        Err(ApiError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert!(parse(&json!({"list": "shopping", "add": ["milk"]})).is_ok());
        assert!(parse(&json!({"list": "Garden", "remove": []})).is_ok());
        for bad in [
            json!("add milk"),
            json!(["milk"]),
            json!({}),
            json!({"list": "shopping"}),
            json!({"list": " ", "add": ["milk"]}),
            json!({"list": 1, "add": ["milk"]}),
            json!({"list": "shopping", "add": "milk"}),
            json!({"list": "shopping", "add": [1]}),
            json!({"list": "shopping", "add": [""]}),
            json!({"list": "shopping", "add": ["milk"], "compelte": ["eggs"]}),
            json!({"list": "shopping", "add": ["milk"], "remove": ["Milk "]}),
        ] {
            assert!(parse(&bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn duplicates_within_one_field_are_fine() {
        assert!(parse(&json!({"list": "shopping", "add": ["milk", "Milk"]})).is_ok());
    }
}
