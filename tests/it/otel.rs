//! OpenTelemetry traces, end to end: the binary exports to a loopback
//! OTLP/HTTP receiver that decodes the protobuf. One signed message through
//! the webhook handler yields the server span and its children with the
//! right parents and attributes, never the token or the message; the webhook
//! gets a `traceparent` of the same trace; a collector that refuses or hangs
//! changes no answer.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alexa_endpoint::config::{Config, HandlerKind};
use alexa_endpoint::dev::refresh_timestamp;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;
use tokio::process::Child;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::queue;
use crate::support::config::{otlp_export, queue_handler, trust_dev_pki, webhook_handler};
use crate::support::helpers::*;
use crate::support::redis::{raw_connection, shared_redis};
use crate::support::serve::ServeProcess;
use crate::support::wait::{eventually, wait_for};
use crate::verify_support::{now, PKI};

const TOKEN: &str = "apiAccessTokenNEVEREXPORTED-7f3a";
const MESSAGE_TEXT: &str = "message-text-NEVER-EXPORTED-91c2";
const SKILL_ID: &str = "amzn1.ask.skill.otel-test";

/// The loopback OTLP/HTTP receiver: every decoded request, and the raw bodies.
#[derive(Clone, Default)]
struct Collector {
    requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    raw: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Collector {
    async fn start() -> (Self, SocketAddr) {
        let collector = Self::default();
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(collector.clone());
        (collector, serve_router(app).await)
    }

    /// Every span received so far, with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for req in self.requests.lock().unwrap().iter() {
            for rs in &req.resource_spans {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| string_attr(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        out.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    /// Wait (bounded) until `pred` holds for the spans received.
    async fn wait_for(&self, what: &str, pred: impl Fn(&[(String, Span)]) -> bool) {
        let awaited = format!("the collector gets {what}");
        wait_for(&awaited, Duration::from_secs(30), async || {
            let spans = self.spans();
            if pred(&spans) {
                return Ok(());
            }
            let names: Vec<_> = spans.iter().map(|(_, s)| s.name.clone()).collect();
            Err(format!("spans {names:#?}"))
        })
        .await;
    }
}

async fn receive(State(c): State<Collector>, body: Bytes) -> Vec<u8> {
    let req = ExportTraceServiceRequest::decode(body.as_ref()).expect("an OTLP protobuf body");
    c.raw.lock().unwrap().push(body.to_vec());
    c.requests.lock().unwrap().push(req);
    ExportTraceServiceResponse::default().encode_to_vec()
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn int_attr(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attrs, key)? {
        Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running `serve` and every line it wrote to stderr.
struct Serve {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
    _pki: tempfile::TempDir,
}

/// Start the binary with full verification against the dev PKI, `tweak`ed,
/// and extra environment variables; wait until it listens.
async fn serve(tweak: impl FnOnce(&mut Config), env: &[(&str, &str)]) -> Serve {
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = PKI.write_to(&pki_dir.path().join("pki")).unwrap();
    let mut config = test_config();
    trust_dev_pki(&mut config, &PKI, &pki);
    tweak(&mut config);
    let mut builder = ServeProcess::builder(&config).env_remove_prefix("OTEL_");
    for (k, v) in env {
        builder = builder.env(*k, *v);
    }
    let served = builder.start().await;
    Serve {
        child: served.child,
        addr: served.addr,
        lines: served.lines,
        _dir: served.dir,
        _pki: pki_dir,
    }
}

/// A signed `Messaging.MessageReceived` with a token, a skill id and a
/// message text that must never be exported.
fn signed_message(request_id: &str) -> (Vec<u8>, http::HeaderMap) {
    signed(request_id, json!({ "text": MESSAGE_TEXT }), None)
}

/// Like [`signed_message`] with this `message` and, if given, `apiEndpoint`.
fn signed(
    request_id: &str,
    message: serde_json::Value,
    api_endpoint: Option<&str>,
) -> (Vec<u8>, http::HeaderMap) {
    let mut v: serde_json::Value =
        serde_json::from_slice(&message_body(request_id, message)).unwrap();
    if let Some(endpoint) = api_endpoint {
        v["context"]["System"]["apiEndpoint"] = endpoint.into();
    }
    v["context"]["System"]["apiAccessToken"] = TOKEN.into();
    v["context"]["System"]["application"] = json!({ "applicationId": SKILL_ID });
    let body = serde_json::to_vec(&v).unwrap();
    let body = refresh_timestamp(&body, now(), None).unwrap();
    let headers = crate::verify_support::signed(&PKI, &body);
    (body, headers)
}

async fn post_signed(addr: SocketAddr, request_id: &str) -> reqwest::StatusCode {
    post_message(addr, signed_message(request_id)).await
}

async fn post_message(
    addr: SocketAddr,
    (body, headers): (Vec<u8>, http::HeaderMap),
) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("http://{addr}/"))
        .headers(headers)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn webhook_backend() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// The `webhook` handler POSTing to `webhook`.
fn webhook_at(webhook: &MockServer) -> impl FnOnce(&mut Config) {
    let url = format!("{}/hook", webhook.uri());
    move |c| webhook_handler(c, &url)
}

#[tokio::test]
async fn one_message_yields_the_server_span_and_its_children_and_the_webhook_continues_the_trace() {
    let (collector, collector_addr) = Collector::start().await;
    let webhook = webhook_backend().await;
    let app = serve(
        |c| {
            webhook_at(&webhook)(c);
            otlp_export(c, &format!("http://{collector_addr}"));
            c.telemetry.otlp.service_name = Some("otel-it".to_owned());
        },
        &[],
    )
    .await;
    let id = unique("otel");
    assert_eq!(post_signed(app.addr, &id).await, 200);

    let names = [
        "POST /",
        "verify",
        "dedup_claim",
        "handler",
        "POST webhook",
        "dedup_finish",
    ];
    collector
        .wait_for("the server span and its children", |spans| {
            names
                .iter()
                .all(|n| spans.iter().any(|(_, s)| s.name == *n))
        })
        .await;
    let spans = collector.spans();
    let find = |name: &str| {
        let found: Vec<&Span> = spans
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(_, s)| s)
            .collect();
        assert_eq!(found.len(), 1, "exactly one {name} span");
        found[0]
    };
    assert!(spans.iter().all(|(service, _)| service == "otel-it"));

    let server = find("POST /");
    assert!(
        server.parent_span_id.is_empty(),
        "the server span is a root"
    );
    assert_eq!(server.kind, SpanKind::Server as i32);
    let a = &server.attributes;
    assert_eq!(
        string_attr(a, "alexa.request.type").as_deref(),
        Some("Messaging.MessageReceived")
    );
    assert_eq!(string_attr(a, "alexa.request_id"), Some(id.clone()));
    assert_eq!(string_attr(a, "alexa.skill_id").as_deref(), Some(SKILL_ID));
    assert_eq!(string_attr(a, "outcome").as_deref(), Some("handled"));
    assert_eq!(int_attr(a, "http.response.status_code"), Some(200));
    assert_eq!(
        string_attr(a, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(string_attr(a, "url.path").as_deref(), Some("/"));

    for name in ["verify", "dedup_claim", "handler", "dedup_finish"] {
        let span = find(name);
        assert_eq!(span.trace_id, server.trace_id, "{name}: same trace");
        assert_eq!(
            span.parent_span_id, server.span_id,
            "{name}: child of the server span"
        );
    }
    assert_eq!(
        string_attr(&find("verify").attributes, "alexa.cert_cache").as_deref(),
        Some("miss"),
        "first use of the (preloaded) chain"
    );
    assert_eq!(
        string_attr(&find("dedup_claim").attributes, "dedup.result").as_deref(),
        Some("new")
    );
    assert_eq!(
        string_attr(&find("dedup_finish").attributes, "dedup.result").as_deref(),
        Some("ok")
    );
    let handler = find("handler");
    assert_eq!(
        string_attr(&handler.attributes, "outcome").as_deref(),
        Some("handled")
    );

    let call = find("POST webhook");
    assert_eq!(call.trace_id, server.trace_id);
    assert_eq!(
        call.parent_span_id, handler.span_id,
        "the webhook call is the handler's child"
    );
    assert_eq!(call.kind, SpanKind::Client as i32);
    let a = &call.attributes;
    assert_eq!(
        string_attr(a, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        string_attr(a, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        string_attr(a, "url.full"),
        Some(format!("{}/hook", webhook.uri()))
    );
    assert_eq!(int_attr(a, "http.response.status_code"), Some(200), "{a:?}");

    // Nothing exported carries the token or the message, in any attribute
    // (or anywhere in the protobuf bodies).
    for (_, span) in &spans {
        for kv in &span.attributes {
            let text = format!("{:?}", kv.value);
            assert!(
                !text.contains(TOKEN) && !text.contains(MESSAGE_TEXT),
                "{}: {} = {text}",
                span.name,
                kv.key
            );
        }
        assert!(span.events.is_empty(), "log events are not exported");
    }
    for body in collector.raw.lock().unwrap().iter() {
        let body = String::from_utf8_lossy(body);
        assert!(!body.contains(TOKEN) && !body.contains(MESSAGE_TEXT));
    }

    // The webhook continues the trace.
    let received = webhook.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let traceparent = received[0]
        .headers
        .get("traceparent")
        .expect("the webhook call carries traceparent")
        .to_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00");
    assert_eq!(
        parts[1],
        hex(&server.trace_id),
        "same trace id as the server span"
    );
    assert_eq!(
        parts[2],
        hex(&call.span_id),
        "parent: the webhook call span"
    );
    assert_eq!(parts[3], "01", "sampled");

    // The access log line carries the trace id.
    let lines = app.lines.lock().unwrap().clone();
    let access = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "request" && l["request_id"] == id.as_str())
        .expect("the access log line");
    assert_eq!(access["trace_id"], hex(&server.trace_id).as_str());
}

#[tokio::test]
async fn the_standard_environment_variables_alone_turn_export_on() {
    let (collector, collector_addr) = Collector::start().await;
    let endpoint = format!("http://{collector_addr}");
    let app = serve(
        |_| {},
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "otel-env-it"),
        ],
    )
    .await;
    let id = unique("otel-env");
    assert_eq!(post_signed(app.addr, &id).await, 200);
    collector
        .wait_for("the server span at <endpoint>/v1/traces", |spans| {
            spans.iter().any(|(service, s)| {
                s.name == "POST /"
                    && service == "otel-env-it"
                    && string_attr(&s.attributes, "alexa.request_id").as_deref() == Some(&id)
            })
        })
        .await;
    collector
        .wait_for("the handler span", |spans| {
            spans.iter().any(|(_, s)| s.name == "handler")
        })
        .await;
    // The built-in `log` handler logs the message text: log lines are not
    // exported, so it is nowhere in the export.
    let lines = app.lines.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.contains(MESSAGE_TEXT)), "{lines:?}");
    for body in collector.raw.lock().unwrap().iter() {
        let body = String::from_utf8_lossy(body);
        assert!(!body.contains(MESSAGE_TEXT) && !body.contains(TOKEN));
    }
}

#[tokio::test]
async fn export_off_by_default_sends_no_traceparent() {
    let webhook = webhook_backend().await;
    let app = serve(webhook_at(&webhook), &[]).await;
    assert_eq!(post_signed(app.addr, &unique("otel-off")).await, 200);
    let received = webhook.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert!(received[0].headers.get("traceparent").is_none());
    let lines = app.lines.lock().unwrap().clone();
    assert!(
        !lines.iter().any(|l| l.contains("trace export on")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_collector_that_refuses_connections_changes_no_answer() {
    // A port that was just free: connections to it are refused.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let webhook = webhook_backend().await;
    let app = serve(
        |c| {
            webhook_at(&webhook)(c);
            otlp_export(c, &format!("http://{refused}"));
        },
        &[],
    )
    .await;
    // Export is on (so the refusals below are really met), as the process says.
    eventually(
        "the export-on log line",
        Duration::from_secs(30),
        async || {
            app.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("trace export on"))
        },
    )
    .await;
    for i in 0..5 {
        let id = unique(&format!("otel-refused-{i}"));
        assert_eq!(post_signed(app.addr, &id).await, 200);
    }
    assert_eq!(webhook.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_collector_that_never_answers_changes_no_answer() {
    // Accepts connections and reads, but never writes a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let keep = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().unwrap().push(socket);
        }
    });
    let webhook = webhook_backend().await;
    let app = serve(
        |c| {
            webhook_at(&webhook)(c);
            otlp_export(c, &format!("http://{hanging}"));
        },
        &[],
    )
    .await;
    for i in 0..3 {
        let id = unique(&format!("otel-hanging-{i}"));
        assert_eq!(post_signed(app.addr, &id).await, 200);
    }
    // Once an export hangs on the collector, requests are still answered.
    eventually("an export tried", Duration::from_secs(30), async || {
        !accepted.lock().unwrap().is_empty()
    })
    .await;
    for i in 3..6 {
        let id = unique(&format!("otel-hanging-{i}"));
        assert_eq!(post_signed(app.addr, &id).await, 200);
    }
    assert_eq!(webhook.received_requests().await.unwrap().len(), 6);

    // And SIGTERM still ends the process, with exit code 0.
    let mut child = app.child;
    send_signal(&child, "-TERM");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the process exits despite the hanging collector")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// The server span of `request_id` (waiting for it), and its trace id in hex.
async fn server_trace_id(collector: &Collector, request_id: &str) -> String {
    let is_it = |s: &Span| {
        s.name == "POST /"
            && string_attr(&s.attributes, "alexa.request_id").as_deref() == Some(request_id)
    };
    collector
        .wait_for("the server span", |spans| {
            spans.iter().any(|(_, s)| is_it(s))
        })
        .await;
    let spans = collector.spans();
    let server = spans.iter().find(|(_, s)| is_it(s)).unwrap();
    hex(&server.1.trace_id)
}

/// The trace id inside a `traceparent` value.
fn trace_id_of(traceparent: &str) -> String {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00");
    parts[1].to_owned()
}

#[tokio::test]
async fn a_redis_stream_entry_carries_the_traceparent_field() {
    let Some(redis_url) = shared_redis().await else {
        return;
    };
    let (collector, collector_addr) = Collector::start().await;
    let stream = unique("otel-stream");
    let app = serve(
        |c| {
            queue_handler(c, queue::redis_stream::backend(&redis_url, &stream, None));
            otlp_export(c, &format!("http://{collector_addr}"));
        },
        &[],
    )
    .await;
    let id = unique("otel-redis");
    assert_eq!(post_signed(app.addr, &id).await, 200);
    let trace_id = server_trace_id(&collector, &id).await;

    let mut conn = raw_connection(&redis_url).await;
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let fields = &entries[0].1;
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    assert_eq!(get("requestId"), Some(id));
    let traceparent = get("traceparent").expect("a traceparent field");
    assert_eq!(trace_id_of(&traceparent), trace_id);
}

#[tokio::test]
async fn a_nats_message_carries_the_traceparent_header() {
    let (collector, collector_addr) = Collector::start().await;
    let js = queue::nats::jetstream().await;
    let (name, subject) = queue::nats::fresh_stream(&js).await;
    let app = serve(
        |c| {
            queue_handler(
                c,
                queue::nats::backend(format!("nats://{}", queue::nats::NATS), &subject),
            );
            otlp_export(c, &format!("http://{collector_addr}"));
        },
        &[],
    )
    .await;
    let id = unique("otel-nats");
    assert_eq!(post_signed(app.addr, &id).await, 200);
    let trace_id = server_trace_id(&collector, &id).await;

    let stream = js.get_stream(&name).await.expect("stream");
    let msg = stream.get_raw_message(1).await.expect("the message");
    let _ = js.delete_stream(&name).await;
    assert_eq!(
        msg.headers.get("Nats-Msg-Id").map(|v| v.to_string()),
        Some(id)
    );
    let traceparent = msg
        .headers
        .get("traceparent")
        .expect("a traceparent header")
        .to_string();
    assert_eq!(trace_id_of(&traceparent), trace_id);
}

#[test]
fn telemetry_config_is_off_by_default_and_refuses_bad_values_by_key() {
    use alexa_endpoint::config::Config;
    let cfg = Config::default();
    assert!(cfg.telemetry.otlp.endpoint.is_none());
    assert!(cfg
        .redacted()
        .to_string()
        .contains("protocol = \"http/protobuf\""));
    let err = Config::from_toml(
        "[verification]\nenabled = false\n[telemetry.otlp]\nsampling_ratio = 1.5\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("telemetry.otlp.sampling_ratio"), "{err}");
    let err = Config::from_toml(
        "[verification]\nenabled = false\n[telemetry.otlp]\nprotocol = \"grpc\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("http/protobuf"), "{err}");
    let ok = Config::from_toml(
        "[verification]\nenabled = false\n[telemetry.otlp]\nendpoint = \"http://c:4318\"\nsampling_ratio = 0.5\n",
    )
    .expect("valid");
    assert_eq!(ok.telemetry.otlp.sampling_ratio, Some(0.5));
}

#[tokio::test]
async fn an_amqp_message_carries_the_traceparent_header() {
    use crate::queue::amqp::{amqp_url, Topology, RABBIT};
    use lapin::types::AMQPValue;
    let (collector, collector_addr) = Collector::start().await;
    let topology = Topology::new(true).await;
    // The URL carries a password: the file gets it redacted, the variable
    // gives it.
    let amqp_url = amqp_url(RABBIT);
    let app = serve(
        |c| {
            queue_handler(c, topology.backend(amqp_url.clone()));
            otlp_export(c, &format!("http://{collector_addr}"));
        },
        &[("ALEXA_ENDPOINT_HANDLER__QUEUE__URL", &amqp_url)],
    )
    .await;
    let id = unique("otel-amqp");
    assert_eq!(post_signed(app.addr, &id).await, 200);
    let trace_id = server_trace_id(&collector, &id).await;

    let msg = topology.take().await.expect("the message");
    topology.delete().await;
    let props = &msg.delivery.properties;
    assert_eq!(props.message_id().as_ref().map(|s| s.to_string()), Some(id));
    let headers = props.headers().as_ref().expect("headers");
    let traceparent = match headers.inner().get("traceparent") {
        Some(AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("no traceparent header: {other:?}"),
    };
    assert_eq!(trace_id_of(&traceparent), trace_id);
}

#[tokio::test]
async fn alexa_api_calls_are_client_spans_of_the_handler_without_the_token() {
    use crate::api_support::{enc, item, list_body, metadata_body, shopping_id};
    use wiremock::matchers::path;
    let (collector, collector_addr) = Collector::start().await;
    let api = MockServer::start().await;
    let list = shopping_id();
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .mount(&api)
        .await;
    for status in ["active", "completed"] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/householdlists/{}/{status}", enc(&list))))
            .respond_with(ResponseTemplate::new(200).set_body_json(list_body(&list, "x", vec![])))
            .mount(&api)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(format!("/v2/householdlists/{}/items", enc(&list))))
        .respond_with(ResponseTemplate::new(201).set_body_json(item("n1", "milk", "active", 1)))
        .mount(&api)
        .await;
    let app = serve(
        |c| {
            c.handler.kind = HandlerKind::ListSync;
            c.alexa_api.allowed_endpoints = vec![api.uri()];
            otlp_export(c, &format!("http://{collector_addr}"));
        },
        &[],
    )
    .await;
    let id = unique("otel-lists");
    let message = json!({"list": "shopping", "add": ["milk"]});
    assert_eq!(
        post_message(app.addr, signed(&id, message, Some(&api.uri()))).await,
        200
    );
    collector
        .wait_for("the handler span and the Lists API calls", |spans| {
            spans.iter().any(|(_, s)| s.name == "POST lists")
                && spans.iter().any(|(_, s)| s.name == "handler")
        })
        .await;
    let spans = collector.spans();
    let handler = &spans.iter().find(|(_, s)| s.name == "handler").unwrap().1;
    let calls: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.name == "GET lists" || s.name == "POST lists")
        .collect();
    assert!(calls.len() >= 2, "reads and the create");
    for call in &calls {
        assert_eq!(call.parent_span_id, handler.span_id, "{}", call.name);
        assert_eq!(call.trace_id, handler.trace_id);
        assert_eq!(call.kind, SpanKind::Client as i32);
        let a = &call.attributes;
        assert_eq!(
            string_attr(a, "server.address").as_deref(),
            Some("127.0.0.1")
        );
        let url = string_attr(a, "url.full").unwrap();
        assert!(
            url.starts_with(&format!("{}/v2/householdlists/", api.uri())),
            "{url}"
        );
        assert!(int_attr(a, "http.response.status_code").is_some());
        for kv in a {
            let text = format!("{:?}", kv.value);
            assert!(!text.contains(TOKEN), "{} = {text}", kv.key);
        }
    }
    let create = calls.iter().find(|s| s.name == "POST lists").unwrap();
    assert_eq!(
        int_attr(&create.attributes, "http.response.status_code"),
        Some(201)
    );
    for body in collector.raw.lock().unwrap().iter() {
        assert!(!String::from_utf8_lossy(body).contains(TOKEN));
    }
}
