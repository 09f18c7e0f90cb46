//! Helpers of the Alexa API tests: configs pointing at wiremock, realistic
//! list ids, response bodies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alexa_endpoint::api::{AlexaApi, ApiError, ApiObserver, ListsClient, RemindersClient};
use alexa_endpoint::config::AlexaApiConfig;
use alexa_endpoint::HandlerError;
use base64::Engine;
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::MockServer;

/// The `apiAccessToken` of the tests' requests.
pub const TOKEN: &str = "test-api-access-token.eyJhbGciOi.SECRET";

/// `listId` of the default shopping list, as Alexa makes them: base64 of
/// `amzn1.account.<id>-SHOPPING_ITEM` (this one ends in `=`).
pub fn shopping_id() -> String {
    b64("amzn1.account.AED6DGVC6YMRKIWZL2R3RXFKKTLA-SHOPPING_ITEM")
}

/// `listId` of the default to-do list (`...-TASK`).
pub fn todo_id() -> String {
    b64("amzn1.account.AED6DGVC6YMRKIWZL2R3RXFKKTLA-TASK")
}

/// `listId` of a custom list (base64 with `+` and `/`, to exercise encoding).
pub fn garden_id() -> String {
    let id = b64("amzn1.account.AED6DGVC6YMRKIWZL2R3RXFKKTLA-1b2c3d4e>>?~");
    assert!(id.contains('+') || id.contains('/'), "{id}");
    id
}

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A path segment as the client must send it: every byte but unreserved
/// characters percent-encoded.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn config(endpoints: &[&str], timeout_ms: u64) -> AlexaApiConfig {
    AlexaApiConfig {
        allowed_endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
        timeout: std::time::Duration::from_millis(timeout_ms),
    }
}

/// An `AlexaApi` that allows only `server`.
pub fn api_for(server: &MockServer) -> AlexaApi {
    AlexaApi::new(&config(&[&server.uri()], 2000)).expect("api")
}

/// A lists client for `server` with [`TOKEN`].
pub fn lists_for(server: &MockServer) -> ListsClient {
    api_for(server)
        .lists(&server.uri(), SecretString::from(TOKEN))
        .expect("lists client")
}

/// A Reminders client for `server` with [`TOKEN`].
pub fn reminders_for(server: &MockServer) -> RemindersClient {
    api_for(server)
        .reminders(&server.uri(), SecretString::from(TOKEN))
        .expect("reminders client")
}

/// A deadline too close for any retry: a call through a client bounded by
/// it is made exactly once.
pub fn no_time_to_retry() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_millis(50)
}

/// What a handler does with an API error: 503 when transient, else 500.
pub fn handler_error(e: ApiError) -> HandlerError {
    if e.is_transient() {
        HandlerError::unavailable(e)
    } else {
        HandlerError::new(e)
    }
}

/// The `(api, status)` calls an observer saw.
pub type Calls = Arc<Mutex<Vec<(&'static str, u16)>>>;

/// An observer that records `(api, status)` calls.
pub fn recorder() -> (ApiObserver, Calls) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = calls.clone();
    let observer: ApiObserver = Arc::new(move |api, status| {
        sink.lock().expect("lock").push((api, status));
    });
    (observer, calls)
}

fn status_map(id: &str) -> Value {
    json!([
        {"url": format!("/v2/householdlists/{id}/active"), "status": "active"},
        {"url": format!("/v2/householdlists/{id}/completed"), "status": "completed"}
    ])
}

/// `GET /v2/householdlists/` of a German user: the default lists have
/// localized names, plus a custom list "Garden".
pub fn metadata_body() -> Value {
    json!({
        "lists": [
            {"listId": todo_id(), "name": "Alexa-To-do-Liste", "state": "active", "version": 1,
             "statusMap": status_map(&todo_id())},
            {"listId": shopping_id(), "name": "Alexa-Einkaufsliste", "state": "active",
             "version": 1, "statusMap": status_map(&shopping_id())},
            {"listId": garden_id(), "name": "Garden", "state": "active", "version": 3,
             "statusMap": status_map(&garden_id())}
        ]
    })
}

pub fn item(id: &str, value: &str, status: &str, version: i64) -> Value {
    json!({
        "id": id, "version": version, "value": value, "status": status,
        "createdTime": "Wed Jul 19 23:24:10 UTC 2017",
        "updatedTime": "Wed Jul 19 23:24:10 UTC 2017",
        "href": format!("/v2/householdlists/x/items/{id}")
    })
}

pub fn list_body(list_id: &str, name: &str, items: Vec<Value>) -> Value {
    json!({
        "listId": list_id, "name": name, "state": "active", "version": 1,
        "items": items, "links": null
    })
}
