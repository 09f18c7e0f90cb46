//! The List Management API (`/v2/householdlists`), called with one request's
//! `apiEndpoint` and `apiAccessToken`.
//!
//! Shapes follow Amazon's List Management REST API reference (and the
//! official SDK models): lists have `listId`, `name`, `state`, `version`,
//! `statusMap`; items have `id`, `version`, `value`, `status`, `createdTime`,
//! `updatedTime`, `href`.

use base64::Engine;
use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use tokio::time::Instant;

use super::http::{decode_json, encode_segment, Http, UserApi};
use super::ApiError;

/// Observer name of List Management calls.
const API: &str = "lists";
/// Bound on `links.next` pages followed by [`ListsClient::list_all`].
const MAX_PAGES: usize = 50;

/// Status of a list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Not done yet.
    Active,
    /// Checked off.
    Completed,
}

impl ItemStatus {
    /// The path segment / JSON value: `active` or `completed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
        }
    }
}

/// State of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListState {
    /// In use.
    Active,
    /// Archived by the user (custom lists only); items cannot be added.
    Archived,
}

/// One of the two default lists every Alexa user has. Their names are
/// localized, so they are found by their `listId` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefaultList {
    /// "Alexa shopping list": base64-decoded `listId` ends in `-SHOPPING_ITEM`.
    Shopping,
    /// "Alexa to-do list": base64-decoded `listId` ends in `-TASK`.
    Todo,
}

impl DefaultList {
    /// Suffix of the base64-decoded `listId`.
    pub fn id_suffix(self) -> &'static str {
        match self {
            Self::Shopping => "-SHOPPING_ITEM",
            Self::Todo => "-TASK",
        }
    }
}

/// Where the items of one status are (`statusMap` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusLink {
    /// Path of the list with items of this status.
    #[serde(default)]
    pub url: String,
    /// The status.
    pub status: ItemStatus,
}

/// A list without its items (`GET /v2/householdlists/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMetadata {
    /// Opaque id (base64).
    pub list_id: String,
    /// Display name (localized for the default lists).
    #[serde(default)]
    pub name: String,
    /// Active or archived.
    pub state: ListState,
    /// Current version, needed to update the list.
    #[serde(default)]
    pub version: i64,
    /// Links to the items per status.
    #[serde(default)]
    pub status_map: Vec<StatusLink>,
}

impl ListMetadata {
    /// Whether this is the given default list, by `listId` suffix.
    pub fn is_default(&self, kind: DefaultList) -> bool {
        decoded_list_id(&self.list_id).ends_with(kind.id_suffix())
    }
}

/// Pagination links of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// Path of the next page, if any.
    #[serde(default)]
    pub next: Option<String>,
    /// Path of the previous page, if any.
    #[serde(default)]
    pub previous: Option<String>,
}

/// A list with the items of one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List {
    /// Opaque id (base64).
    pub list_id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Active or archived.
    pub state: ListState,
    /// Current version.
    #[serde(default)]
    pub version: i64,
    /// The items of the requested status (one page).
    #[serde(default)]
    pub items: Vec<ListItem>,
    /// Pagination.
    #[serde(default)]
    pub links: Option<Links>,
}

/// One item of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListItem {
    /// Item id.
    pub id: String,
    /// Current version, needed to update the item.
    #[serde(default)]
    pub version: i64,
    /// The text of the item.
    pub value: String,
    /// Active or completed.
    pub status: ItemStatus,
    /// Creation time as sent by the API (not ISO 8601: `Wed Jul 19 23:24:10 UTC 2017`).
    #[serde(default)]
    pub created_time: Option<String>,
    /// Last update time as sent by the API.
    #[serde(default)]
    pub updated_time: Option<String>,
    /// Path of the item.
    #[serde(default)]
    pub href: Option<String>,
}

#[derive(Deserialize)]
struct ListsMetadataBody {
    #[serde(default)]
    lists: Vec<ListMetadata>,
}

/// `listId` base64-decoded (any alphabet, padded or not); the raw id when it
/// is not base64.
fn decoded_list_id(list_id: &str) -> String {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(list_id).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| list_id.to_owned())
}

/// List Management API client bound to one request's endpoint and token.
/// Made by [`AlexaApi::lists`](super::AlexaApi::lists), which checks the
/// endpoint against the allowlist. `Debug` never shows the token.
#[derive(Clone, Debug)]
pub struct ListsClient {
    api: UserApi,
}

impl ListsClient {
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
    /// [`RequestContext::lists`](crate::RequestContext::lists) sets it).
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.api.set_deadline(deadline);
        self
    }

    /// One call: Bearer token, `Accept: application/json`, and a JSON body
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<bytes::Bytes, ApiError> {
        self.api.call(API, method, path, body.as_ref()).await
    }

    /// Metadata of all the user's lists, default lists included
    /// (`GET /v2/householdlists/`).
    pub async fn lists_metadata(&self) -> Result<Vec<ListMetadata>, ApiError> {
        let body = self.call(Method::GET, "/v2/householdlists/", None).await?;
        Ok(decode_json::<ListsMetadataBody>(&body)?.lists)
    }

    /// A list with its items of `status`, first page only
    /// (`GET /v2/householdlists/{listId}/{active|completed}`).
    pub async fn list(&self, list_id: &str, status: ItemStatus) -> Result<List, ApiError> {
        let path = format!(
            "/v2/householdlists/{}/{}",
            encode_segment(list_id),
            status.as_str()
        );
        decode_json(&self.call(Method::GET, &path, None).await?)
    }

    /// Like [`ListsClient::list`], following `links.next` (at most 50 pages)
    /// so that `items` holds every item of `status`. A `next` link pointing
    /// anywhere but this endpoint is not followed (the token stays here).
    pub async fn list_all(&self, list_id: &str, status: ItemStatus) -> Result<List, ApiError> {
        let mut list = self.list(list_id, status).await?;
        let mut next = list.links.take().and_then(|l| l.next);
        let mut pages = 1;
        while let Some(link) = next.filter(|n| !n.is_empty()) {
            if pages >= MAX_PAGES {
                return Err(ApiError::Decode(format!(
                    "list has more than {MAX_PAGES} pages"
                )));
            }
            let path = self.next_page_path(&link)?;
            let page: List = decode_json(&self.call(Method::GET, &path, None).await?)?;
            list.items.extend(page.items);
            next = page.links.and_then(|l| l.next);
            pages += 1;
        }
        Ok(list)
    }

    /// A `links.next` value as a path on this endpoint.
    fn next_page_path(&self, link: &str) -> Result<String, ApiError> {
        let path = match link.strip_prefix(self.api.base()) {
            Some(rest) => rest.to_owned(),
            None if link.contains("://") => {
                return Err(ApiError::Decode(format!(
                    "links.next {link:?} is not on {}",
                    self.api.base()
                )))
            }
            None => link.to_owned(),
        };
        Ok(if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        })
    }

    /// Add an item (`POST /v2/householdlists/{listId}/items`, `{value, status}`).
    pub async fn create_item(
        &self,
        list_id: &str,
        value: &str,
        status: ItemStatus,
    ) -> Result<ListItem, ApiError> {
        let path = format!("/v2/householdlists/{}/items", encode_segment(list_id));
        let body = json!({ "value": value, "status": status });
        decode_json(&self.call(Method::POST, &path, Some(body)).await?)
    }

    /// Change an item's value or status
    /// (`PUT /v2/householdlists/{listId}/items/{itemId}`, `{value, status, version}`).
    /// A stale `version` fails with [`ApiError::Conflict`].
    pub async fn update_item(
        &self,
        list_id: &str,
        item_id: &str,
        value: &str,
        status: ItemStatus,
        version: i64,
    ) -> Result<ListItem, ApiError> {
        let path = format!(
            "/v2/householdlists/{}/items/{}",
            encode_segment(list_id),
            encode_segment(item_id)
        );
        let body = json!({ "value": value, "status": status, "version": version });
        decode_json(&self.call(Method::PUT, &path, Some(body)).await?)
    }

    /// Delete an item (`DELETE /v2/householdlists/{listId}/items/{itemId}`).
    pub async fn delete_item(&self, list_id: &str, item_id: &str) -> Result<(), ApiError> {
        let path = format!(
            "/v2/householdlists/{}/items/{}",
            encode_segment(list_id),
            encode_segment(item_id)
        );
        self.call(Method::DELETE, &path, None).await.map(drop)
    }

    /// Create a custom list (`POST /v2/householdlists/`, `{name, state: "active"}`).
    /// A name already in use fails with [`ApiError::Conflict`].
    pub async fn create_list(&self, name: &str) -> Result<ListMetadata, ApiError> {
        let body = json!({ "name": name, "state": ListState::Active });
        decode_json(
            &self
                .call(Method::POST, "/v2/householdlists/", Some(body))
                .await?,
        )
    }

    /// Rename, archive or re-activate a custom list
    /// (`PUT /v2/householdlists/{listId}`, `{name, state, version}`).
    pub async fn update_list(
        &self,
        list_id: &str,
        name: &str,
        state: ListState,
        version: i64,
    ) -> Result<ListMetadata, ApiError> {
        let path = format!("/v2/householdlists/{}", encode_segment(list_id));
        let body = json!({ "name": name, "state": state, "version": version });
        decode_json(&self.call(Method::PUT, &path, Some(body)).await?)
    }

    /// Delete a custom list (`DELETE /v2/householdlists/{listId}`).
    pub async fn delete_list(&self, list_id: &str) -> Result<(), ApiError> {
        let path = format!("/v2/householdlists/{}", encode_segment(list_id));
        self.call(Method::DELETE, &path, None).await.map(drop)
    }

    /// The user's default shopping or to-do list, found by the suffix of its
    /// base64-decoded `listId` (names are localized).
    pub async fn find_default_list(
        &self,
        kind: DefaultList,
    ) -> Result<Option<ListMetadata>, ApiError> {
        Ok(self
            .lists_metadata()
            .await?
            .into_iter()
            .find(|l| l.is_default(kind)))
    }

    /// A list by name: an exact match first, else the only case-insensitive
    /// match; active lists are preferred over archived ones. Two lists that
    /// differ only in case and match case-insensitively give `None`.
    pub async fn find_list_by_name(&self, name: &str) -> Result<Option<ListMetadata>, ApiError> {
        Ok(pick_by_name(self.lists_metadata().await?, name))
    }
}

fn pick_by_name(lists: Vec<ListMetadata>, name: &str) -> Option<ListMetadata> {
    let name = name.trim();
    let rank = |l: &ListMetadata| (l.state != ListState::Active) as u8;
    let mut exact: Vec<&ListMetadata> = lists.iter().filter(|l| l.name.trim() == name).collect();
    exact.sort_by_key(|l| rank(l));
    if let Some(first) = exact.first() {
        return Some((*first).clone());
    }
    let folded = name.to_lowercase();
    let mut similar: Vec<&ListMetadata> = lists
        .iter()
        .filter(|l| l.name.trim().to_lowercase() == folded)
        .collect();
    similar.sort_by_key(|l| rank(l));
    match similar.as_slice() {
        [only] => Some((*only).clone()),
        [a, b, ..] if rank(a) < rank(b) => Some((*a).clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, id: &str, state: ListState) -> ListMetadata {
        ListMetadata {
            list_id: id.to_owned(),
            name: name.to_owned(),
            state,
            version: 1,
            status_map: vec![],
        }
    }

    #[test]
    fn default_lists_by_decoded_suffix() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let shopping = meta(
            "Einkaufsliste",
            &b64.encode("amzn1.account.AEXAMPLE-SHOPPING_ITEM"),
            ListState::Active,
        );
        let todo = meta(
            "To-do",
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("amzn1.account.AEX-TASK"),
            ListState::Active,
        );
        assert!(shopping.is_default(DefaultList::Shopping));
        assert!(!shopping.is_default(DefaultList::Todo));
        assert!(todo.is_default(DefaultList::Todo));
        let custom = meta(
            "x",
            &b64.encode("amzn1.account.AEX-1234"),
            ListState::Active,
        );
        assert!(!custom.is_default(DefaultList::Shopping));
    }

    #[test]
    fn by_name_prefers_exact_then_unique_folded() {
        let lists = vec![
            meta("Garden", "1", ListState::Archived),
            meta("Garden", "2", ListState::Active),
            meta("hardware", "3", ListState::Active),
            meta("Books", "4", ListState::Active),
            meta("BOOKS", "5", ListState::Active),
        ];
        assert_eq!(
            pick_by_name(lists.clone(), "Garden").map(|l| l.list_id),
            Some("2".into())
        );
        assert_eq!(
            pick_by_name(lists.clone(), "Hardware").map(|l| l.list_id),
            Some("3".into())
        );
        assert_eq!(
            pick_by_name(lists.clone(), "Books").map(|l| l.list_id),
            Some("4".into())
        );
        assert_eq!(pick_by_name(lists.clone(), "books"), None);
        assert_eq!(pick_by_name(lists, "nope"), None);
    }
}
