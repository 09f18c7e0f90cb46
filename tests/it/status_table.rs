//! The README's "HTTP answers" table, row by row, in-process: the endpoint's
//! `router()` and `ops_router()` driven with `tower::ServiceExt::oneshot`, no
//! sockets. Each row pins the exact status, the error body's `error` label
//! and whether the skill's handler ran.
//!
//! Not here: the 431 for an oversized request head (hyper's, before any
//! route: `listener_limits`), the JSON 404/405 of the standalone server's
//! listeners (`bad_input`), the `queue` handler's broker failures (`queue`)
//! and the cert download pool (`verify_cert_abuse`).

use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::api::ApiError;
use alexa_endpoint::config::{Config, OnStoreError};
use alexa_endpoint::dedup::{new_owner_token, Claim, DedupStore, MemoryStore, StoreError};
use alexa_endpoint::dev::refresh_timestamp;
use alexa_endpoint::envelope::MessageReceivedRequest;
use alexa_endpoint::verify::{CertSource, FetchError};
use alexa_endpoint::{Endpoint, HandlerError, Response, Skill};
use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, Request, StatusCode};
use serde_json::{json, Value};
use time::{Duration as TimeDelta, OffsetDateTime};
use tower::ServiceExt;

use crate::support::helpers::*;
use crate::verify_support::{signed, verifier, CountingSource, OTHER_PKI, PKI, SKILL_ID};

const PATH: &str = "/alexa";
const ACK: &str = r#"{"version":"1.0","response":{}}"#;
/// `server.body_limit_bytes` of the table's endpoints.
const BODY_LIMIT: usize = 16 * 1024;
/// A claim TTL no test waits out.
const LONG: Duration = Duration::from_secs(60);

/// What the answer's body must be.
enum Answer {
    /// A JSON error body with this `error` label (and a message).
    Error(&'static str),
    /// 200 with the empty acknowledgement.
    Ack,
    /// 200 with a response the handler built (`{"version":"1.0",...}`).
    Handled,
    /// axum's own answer, without a body: `router()` adds no fallback, so a
    /// wrong method is answered by axum or the host app.
    Empty,
}

/// One row of the table.
struct Row {
    what: &'static str,
    request: Request<Body>,
    status: u16,
    answer: Answer,
    /// Whether the skill's handler ran for it.
    ran: bool,
}

impl Row {
    fn new(
        what: &'static str,
        request: Request<Body>,
        status: u16,
        answer: Answer,
        ran: bool,
    ) -> Self {
        Self {
            what,
            request,
            status,
            answer,
            ran,
        }
    }
}

/// An endpoint under test, its routers and its handler's run count.
struct Table {
    endpoint: Endpoint,
    router: Router,
    runs: Runs,
}

impl Table {
    fn new(endpoint: Endpoint, runs: Runs) -> Self {
        Self {
            router: endpoint.router(),
            endpoint,
            runs,
        }
    }

    /// Send `row`'s request and check its answer and the handler's runs.
    async fn check(&self, row: Row) -> HeaderMap {
        let before = self.runs.get();
        let res = self.router.clone().oneshot(row.request).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let shown = String::from_utf8_lossy(&body).into_owned();
        let what = row.what;
        assert_eq!(status.as_u16(), row.status, "{what}: {shown}");
        match row.answer {
            Answer::Error(reason) => {
                assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{what}");
                let v: Value = serde_json::from_slice(&body).expect("a JSON error body");
                assert_eq!(v["error"], reason, "{what}: {v}");
                assert!(
                    v["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{what}: {v}"
                );
            }
            Answer::Ack => assert_eq!(shown, ACK, "{what}"),
            Answer::Handled => {
                let v: Value = serde_json::from_slice(&body).expect("a JSON response");
                assert_eq!(v["version"], "1.0", "{what}: {v}");
            }
            Answer::Empty => assert!(body.is_empty(), "{what}: {shown}"),
        }
        // An answer given before the whole body was read closes the
        // connection (the rest of the body would be read as a request).
        let unread = [StatusCode::PAYLOAD_TOO_LARGE, StatusCode::REQUEST_TIMEOUT];
        if unread.contains(&status) {
            assert_eq!(headers[header::CONNECTION], "close", "{what}");
        }
        assert_eq!(
            self.runs.get() - before,
            usize::from(row.ran),
            "{what}: handler runs"
        );
        headers
    }

    /// `GET path` on the ops router: status and the JSON body.
    async fn ops_get(&self, path: &str) -> (u16, Value) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let res = self.endpoint.ops_router().oneshot(request).await.unwrap();
        let status = res.status().as_u16();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }
}

fn config() -> Config {
    let mut cfg = test_config();
    cfg.server.path = PATH.into();
    cfg.server.body_limit_bytes = BODY_LIMIT;
    cfg.dedup.on_store_error = OnStoreError::Reject;
    cfg
}

/// The message handler of the table: counts its run, then does what the
/// message's `do` says.
fn scripted_skill(runs: &Runs) -> Skill {
    let runs = runs.clone();
    Skill::builder()
        .on_message(move |_ctx, msg: MessageReceivedRequest| {
            runs.inc();
            async move {
                let result: alexa_endpoint::HandlerResult =
                    match msg.message["do"].as_str().unwrap_or("ack") {
                        "fail" => Err(HandlerError::new(std::io::Error::other("boom"))),
                        "unavailable" => Err(HandlerError::unavailable(std::io::Error::other(
                            "backend down",
                        ))),
                        "api-transient" => {
                            api_call(ApiError::Server {
                                status: 503,
                                message: "try later".into(),
                            })?;
                            Ok(Response::ack())
                        }
                        "api-permanent" => {
                            api_call(ApiError::Forbidden {
                                message: "no permission".into(),
                            })?;
                            Ok(Response::ack())
                        }
                        "panic" => panic!("the handler panics (expected by this test)"),
                        "too-large" => Ok(Response::builder().speak("x".repeat(30_000)).build()),
                        "hang" => std::future::pending().await,
                        _ => Ok(Response::builder().speak("handled").build()),
                    };
                result
            }
        })
        .build()
}

/// An Alexa API call that failed with `error`.
fn api_call(error: ApiError) -> Result<(), ApiError> {
    Err(error)
}

/// A table endpoint without verification, with its own memory store.
fn plain(tweak: impl FnOnce(&mut Config)) -> (Table, Arc<dyn DedupStore>) {
    let mut cfg = config();
    tweak(&mut cfg);
    let runs = Runs::default();
    let store: Arc<dyn DedupStore> = Arc::new(MemoryStore::new(1000));
    let endpoint = Endpoint::with_parts(scripted_skill(&runs), &cfg, None, store.clone()).unwrap();
    (Table::new(endpoint, runs), store)
}

fn post(body: impl Into<Body>) -> Request<Body> {
    post_with(body, HeaderMap::new())
}

fn post_with(body: impl Into<Body>, headers: HeaderMap) -> Request<Body> {
    let mut request = Request::post(PATH)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

/// A message whose handler does `action`, under a fresh request id.
fn message(action: &str) -> Vec<u8> {
    message_body(&unique("table"), json!({ "do": action }))
}

/// The seed payload with `edit` applied.
fn seed_with(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["request"]["requestId"] = unique("table").into();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!("samples/{name}"))).unwrap()
}

/// A body that sends `first`, then fails (a client that went away).
fn broken_body(first: &'static [u8]) -> Body {
    let frames: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(first)),
        Err(std::io::Error::other("connection reset")),
    ];
    Body::from_stream(futures_util::stream::iter(frames))
}

#[tokio::test]
async fn bad_input_and_handler_outcomes_answer_their_row() {
    init_logs();
    let (table, _store) = plain(|_| {});
    let over_limit = seed_with(|v| v["padding"] = "p".repeat(BODY_LIMIT).into());
    let declared_over = {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, (BODY_LIMIT + 1).into());
        post_with(vec![b' '; BODY_LIMIT + 1], headers)
    };
    let duplicate_key = String::from_utf8(message("ack")).unwrap().replacen(
        "\"requestId\":",
        "\"requestId\":\"first\",\"requestId\":",
        1,
    );
    let rows = [
        // Routing: `router()` serves only POST on its path.
        Row::new(
            "GET on the path",
            Request::get(PATH).body(Body::empty()).unwrap(),
            405,
            Answer::Empty,
            false,
        ),
        Row::new(
            "PUT on the path",
            Request::put(PATH).body(Body::from(message("ack"))).unwrap(),
            405,
            Answer::Empty,
            false,
        ),
        // Content that is not a JSON envelope.
        Row::new(
            "form-encoded body",
            Request::post(PATH)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("request=1&type=Messaging.MessageReceived"))
                .unwrap(),
            400,
            Answer::Error("malformed_json"),
            false,
        ),
        Row::new(
            "XML body",
            Request::post(PATH)
                .header(header::CONTENT_TYPE, "application/xml")
                .body(Body::from("<request><type>LaunchRequest</type></request>"))
                .unwrap(),
            400,
            Answer::Error("malformed_json"),
            false,
        ),
        Row::new(
            "binary body",
            post(vec![0xff, 0xfe, 0x00, 0x01]),
            400,
            Answer::Error("malformed_json"),
            false,
        ),
        Row::new(
            "empty body",
            post(Vec::new()),
            400,
            Answer::Error("malformed_json"),
            false,
        ),
        // Size and delivery of the body.
        Row::new(
            "Content-Length over the limit",
            declared_over,
            413,
            Answer::Error("body_too_large"),
            false,
        ),
        Row::new(
            "undeclared body over the limit",
            post(over_limit),
            413,
            Answer::Error("body_too_large"),
            false,
        ),
        Row::new(
            "body broken off",
            post(broken_body(b"{\"version\":")),
            400,
            Answer::Error("body_unreadable"),
            false,
        ),
        // The envelope.
        Row::new(
            "malformed JSON",
            post(&b"{\"version\": 1.0, "[..]),
            400,
            Answer::Error("malformed_json"),
            false,
        ),
        Row::new(
            "requestId missing",
            post(seed_with(|v| {
                v["request"].as_object_mut().unwrap().remove("requestId");
            })),
            400,
            Answer::Error("missing_field"),
            false,
        ),
        Row::new(
            "request.type missing",
            post(seed_with(|v| {
                v["request"].as_object_mut().unwrap().remove("type");
            })),
            400,
            Answer::Error("missing_field"),
            false,
        ),
        Row::new(
            "message missing",
            post(seed_with(|v| {
                v["request"].as_object_mut().unwrap().remove("message");
            })),
            400,
            Answer::Error("missing_field"),
            false,
        ),
        Row::new(
            "message over 6 KB",
            post(message_body(&unique("big"), json!("x".repeat(7000)))),
            400,
            Answer::Error("message_too_large"),
            false,
        ),
        Row::new(
            "requestId over 256 bytes",
            post(message_body(&"r".repeat(257), json!({}))),
            400,
            Answer::Error("request_id_too_long"),
            false,
        ),
        Row::new(
            "requestId twice",
            post(duplicate_key),
            400,
            Answer::Error("duplicate_field"),
            false,
        ),
        // Request types without a handler.
        Row::new(
            "LaunchRequest, no handler",
            post(sample("launch-request.json")),
            500,
            Answer::Error("no_handler"),
            false,
        ),
        Row::new(
            "SessionEndedRequest, no handler",
            post(sample("session-ended-request.json")),
            200,
            Answer::Ack,
            false,
        ),
        // The handler.
        Row::new("handled", post(message("ack")), 200, Answer::Handled, true),
        Row::new(
            "handler error",
            post(message("fail")),
            500,
            Answer::Error("handler_error"),
            true,
        ),
        Row::new(
            "handler panicked",
            post(message("panic")),
            500,
            Answer::Error("handler_panicked"),
            true,
        ),
        Row::new(
            "response over 24 KB",
            post(message("too-large")),
            500,
            Answer::Error("response_too_large"),
            true,
        ),
        Row::new(
            "HandlerError::unavailable",
            post(message("unavailable")),
            503,
            Answer::Error("handler_unavailable"),
            true,
        ),
        Row::new(
            "`?` on a transient ApiError",
            post(message("api-transient")),
            503,
            Answer::Error("handler_unavailable"),
            true,
        ),
        Row::new(
            "`?` on a permanent ApiError",
            post(message("api-permanent")),
            500,
            Answer::Error("handler_error"),
            true,
        ),
    ];
    for row in rows {
        table.check(row).await;
    }
}

#[tokio::test]
async fn a_body_not_received_in_time_is_408() {
    let (table, _store) = plain(|cfg| cfg.server.body_read_timeout = Duration::from_millis(50));
    let never_ends =
        Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
    let row = Row::new(
        "body never completes",
        post(never_ends),
        408,
        Answer::Error("body_timeout"),
        false,
    );
    table.check(row).await;
}

#[tokio::test]
async fn a_handler_past_its_deadline_is_503() {
    let (table, _store) = plain(|cfg| cfg.handler.deadline = Duration::from_millis(50));
    let row = Row::new(
        "handler never finishes",
        post(message("hang")),
        503,
        Answer::Error("handler_deadline_exceeded"),
        true,
    );
    table.check(row).await;
}

/// Duplicates and concurrent deliveries of one `requestId`, and a failed
/// handler's message running again on re-delivery.
#[tokio::test]
async fn dedup_rows() {
    init_logs();
    let (table, store) = plain(|_| {});
    let handled_before = unique("done");
    let (owner, in_progress) = (new_owner_token(), unique("claimed"));
    assert_eq!(
        store.claim(&in_progress, &owner, LONG).await.unwrap(),
        Claim::New
    );
    let failed = unique("failed");
    let rows = [
        Row::new(
            "first delivery",
            post(message_body(&handled_before, json!({}))),
            200,
            Answer::Handled,
            true,
        ),
        Row::new(
            "re-delivery of a handled message",
            post(message_body(&handled_before, json!({}))),
            200,
            Answer::Ack,
            false,
        ),
        Row::new(
            "delivery while another request handles it",
            post(message_body(&in_progress, json!({}))),
            409,
            Answer::Error("in_progress"),
            false,
        ),
        Row::new(
            "handler failed",
            post(message_body(&failed, json!({"do": "fail"}))),
            500,
            Answer::Error("handler_error"),
            true,
        ),
        Row::new(
            "re-delivery after a failure runs again",
            post(message_body(&failed, json!({}))),
            200,
            Answer::Handled,
            true,
        ),
    ];
    for row in rows {
        table.check(row).await;
    }
    // The claim of the other request is untouched: once it finishes, a
    // re-delivery is a duplicate.
    store.finish(&in_progress, &owner, LONG).await.unwrap();
    let row = Row::new(
        "re-delivery once the other request finished",
        post(message_body(&in_progress, json!({}))),
        200,
        Answer::Ack,
        false,
    );
    table.check(row).await;
}

/// A dedup store that cannot be reached.
struct Unreachable;

#[async_trait::async_trait]
impl DedupStore for Unreachable {
    async fn claim(&self, _: &str, _: &str, _: Duration) -> Result<Claim, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn finish(&self, _: &str, _: &str, _: Duration) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn release(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    fn name(&self) -> &'static str {
        "unreachable"
    }
}

fn unreachable_store(on_store_error: OnStoreError) -> Table {
    let mut cfg = config();
    cfg.dedup.on_store_error = on_store_error;
    let runs = Runs::default();
    let endpoint =
        Endpoint::with_parts(scripted_skill(&runs), &cfg, None, Arc::new(Unreachable)).unwrap();
    Table::new(endpoint, runs)
}

#[tokio::test]
async fn an_unreachable_dedup_store_is_503_with_reject() {
    init_logs();
    let table = unreachable_store(OnStoreError::Reject);
    let row = Row::new(
        "dedup store unreachable, reject",
        post(message("ack")),
        503,
        Answer::Error("dedup_store_unavailable"),
        false,
    );
    table.check(row).await;
    // Only messages are de-duplicated: other request types do not ask the store.
    let row = Row::new(
        "SessionEndedRequest, store unreachable",
        post(sample("session-ended-request.json")),
        200,
        Answer::Ack,
        false,
    );
    table.check(row).await;
    let (status, body) = table.ops_get("/readyz").await;
    assert_eq!(
        (status, &body["error"]),
        (503, &json!("dedup_store_unavailable"))
    );
    assert_eq!(table.ops_get("/healthz").await.0, 200);

    // With `process`, the same failure runs the handler (and risks a duplicate).
    let table = unreachable_store(OnStoreError::Process);
    let row = Row::new(
        "dedup store unreachable, process",
        post(message("ack")),
        200,
        Answer::Handled,
        true,
    );
    table.check(row).await;
}

/// `server.max_in_flight` requests in flight: the next one is shed at once.
#[tokio::test]
async fn overload_is_503_with_retry_after_and_runs_nothing() {
    init_logs();
    let mut cfg = config();
    cfg.server.max_in_flight = 1;
    let (entered, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let runs = Runs::default();
    let skill = {
        let (entered, release, runs) = (entered.clone(), release.clone(), runs.clone());
        Skill::builder()
            .on_message(move |_ctx, _msg| {
                runs.inc();
                let (entered, release) = (entered.clone(), release.clone());
                async move {
                    entered.notify_one();
                    release.notified().await;
                    Ok(Response::ack())
                }
            })
            .build()
    };
    let endpoint = Endpoint::new(skill, &cfg).unwrap();
    let table = Table::new(endpoint, runs);
    let first = tokio::spawn(table.router.clone().oneshot(post(message("ack"))));
    entered.notified().await;

    let row = Row::new(
        "max_in_flight reached",
        post(message("ack")),
        503,
        Answer::Error("overloaded"),
        false,
    );
    let headers = table.check(row).await;
    assert_eq!(headers[header::RETRY_AFTER], "1");

    release.notify_one();
    assert_eq!(first.await.unwrap().unwrap().status(), 200);
    // The slot is free again.
    release.notify_one();
    let row = Row::new(
        "after the slot came free",
        post(message("ack")),
        200,
        Answer::Ack,
        true,
    );
    table.check(row).await;
}

#[tokio::test]
async fn shutting_down_is_503_and_runs_nothing() {
    init_logs();
    let (table, _store) = plain(|_| {});
    table.endpoint.shutdown(Duration::ZERO).await;
    let row = Row::new(
        "request after shutdown began",
        post(message("ack")),
        503,
        Answer::Error("shutting_down"),
        false,
    );
    table.check(row).await;
    let (status, body) = table.ops_get("/readyz").await;
    assert_eq!((status, &body["error"]), (503, &json!("shutting_down")));
    assert_eq!(table.ops_get("/healthz").await.0, 200);
}

// ---- verification ----------------------------------------------------------

/// A table endpoint verifying with [`PKI`] trusted, the chain fetched from
/// `source`.
fn verifying(source: Arc<dyn CertSource>) -> Table {
    let runs = Runs::default();
    let verifier = verifier(&[&PKI], |_| {}, source);
    let endpoint = Endpoint::with_parts(
        scripted_skill(&runs),
        &config(),
        Some(verifier),
        Arc::new(MemoryStore::new(1000)),
    )
    .unwrap();
    Table::new(endpoint, runs)
}

/// A message for our skill, stamped `skew` from now, under a fresh id.
fn stamped(skew: TimeDelta) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&message("ack")).unwrap();
    v["context"]["System"]["application"] = json!({ "applicationId": SKILL_ID });
    let raw = serde_json::to_vec(&v).unwrap();
    let at = OffsetDateTime::now_utc() + skew;
    refresh_timestamp(&raw, at, Some(&unique("signed"))).unwrap()
}

/// A signed request: `body` with `headers` (the signature headers, edited).
fn signed_post(body: Vec<u8>, headers: HeaderMap) -> Request<Body> {
    post_with(body, headers)
}

#[tokio::test]
async fn every_verification_failure_is_400_and_runs_nothing() {
    init_logs();
    let table = verifying(CountingSource::chain(&PKI));
    let good = stamped(TimeDelta::ZERO);
    let good_headers = signed(&PKI, &good);
    let without = |name: &str| {
        let mut headers = good_headers.clone();
        headers.remove(name);
        headers
    };
    let with_cert_url = |url: &'static str| {
        let mut headers = good_headers.clone();
        headers.insert("signaturecertchainurl", url.parse().unwrap());
        headers
    };
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replacen("\"ack\"", "\"ACK\"", 1)
        .into_bytes();
    let other_skill = {
        let mut v: Value = serde_json::from_slice(&stamped(TimeDelta::ZERO)).unwrap();
        v["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.other".into();
        serde_json::to_vec(&v).unwrap()
    };
    let no_skill = {
        let mut v: Value = serde_json::from_slice(&stamped(TimeDelta::ZERO)).unwrap();
        v["context"]["System"]
            .as_object_mut()
            .unwrap()
            .remove("application");
        serde_json::to_vec(&v).unwrap()
    };
    // An hour off: far outside the 150 s tolerance whatever the clock does.
    let stale = stamped(TimeDelta::hours(-1));
    let future = stamped(TimeDelta::hours(1));
    let mut garbled = good_headers.clone();
    garbled.insert("signature-256", "%%%not-base64%%%".parse().unwrap());

    let rows = [
        Row::new(
            "no signature headers",
            signed_post(good.clone(), HeaderMap::new()),
            400,
            Answer::Error("missing_cert_url"),
            false,
        ),
        Row::new(
            "no cert URL header",
            signed_post(good.clone(), without("signaturecertchainurl")),
            400,
            Answer::Error("missing_cert_url"),
            false,
        ),
        Row::new(
            "no Signature-256 header",
            signed_post(good.clone(), without("signature-256")),
            400,
            Answer::Error("missing_signature"),
            false,
        ),
        Row::new(
            "signature not base64",
            signed_post(good.clone(), garbled),
            400,
            Answer::Error("signature_not_base64"),
            false,
        ),
        Row::new(
            "cert URL over http",
            signed_post(
                good.clone(),
                with_cert_url("http://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem"),
            ),
            400,
            Answer::Error("cert_url_not_allowed"),
            false,
        ),
        Row::new(
            "cert URL on another host",
            signed_post(
                good.clone(),
                with_cert_url("https://notamazon.com/echo.api/echo-api-cert-dev.pem"),
            ),
            400,
            Answer::Error("cert_url_not_allowed"),
            false,
        ),
        Row::new(
            "body changed after signing",
            signed_post(tampered, good_headers.clone()),
            400,
            Answer::Error("signature_mismatch"),
            false,
        ),
        Row::new(
            "signed with another key",
            signed_post(good.clone(), signed(&OTHER_PKI, &good)),
            400,
            Answer::Error("signature_mismatch"),
            false,
        ),
        Row::new(
            "timestamp an hour old",
            signed_post(stale.clone(), signed(&PKI, &stale)),
            400,
            Answer::Error("timestamp_out_of_tolerance"),
            false,
        ),
        Row::new(
            "timestamp an hour ahead",
            signed_post(future.clone(), signed(&PKI, &future)),
            400,
            Answer::Error("timestamp_out_of_tolerance"),
            false,
        ),
        Row::new(
            "another skill's id",
            signed_post(other_skill.clone(), signed(&PKI, &other_skill)),
            400,
            Answer::Error("skill_id_not_allowed"),
            false,
        ),
        Row::new(
            "no skill id",
            signed_post(no_skill.clone(), signed(&PKI, &no_skill)),
            400,
            Answer::Error("skill_id_missing"),
            false,
        ),
        // The rejections above were for their reasons: the good request passes.
        Row::new(
            "correctly signed",
            signed_post(good, good_headers),
            200,
            Answer::Handled,
            true,
        ),
    ];
    for row in rows {
        table.check(row).await;
    }
}

/// A cert source whose server answers `status` to every download.
struct Answers(u16);

#[async_trait::async_trait]
impl CertSource for Answers {
    async fn fetch(&self, _url: &url::Url) -> Result<Bytes, FetchError> {
        Err(FetchError::Status(self.0))
    }
}

#[tokio::test]
async fn cert_chain_failures_answer_their_row() {
    init_logs();
    let body = stamped(TimeDelta::ZERO);
    let headers = signed(&PKI, &body);
    let cases = [
        (
            "cert URL names no chain (404)",
            verifying(Arc::new(Answers(404))),
            400,
            "cert_not_found",
        ),
        (
            "cert download failed (503)",
            verifying(Arc::new(Answers(503))),
            503,
            "cert_download_failed",
        ),
        (
            "chain not issued by a trusted root",
            verifying(CountingSource::chain(&OTHER_PKI)),
            400,
            "cert_chain_invalid",
        ),
    ];
    for (what, table, status, reason) in cases {
        let row = Row::new(
            what,
            signed_post(body.clone(), headers.clone()),
            status,
            Answer::Error(reason),
            false,
        );
        table.check(row).await;
    }
}
