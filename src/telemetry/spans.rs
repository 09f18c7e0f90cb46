//! The spans every request and outbound call opens, with their attribute
//! names in one place, and the W3C `traceparent` of a span.
//!
//! They are ordinary `tracing` spans: the log lines written inside them
//! carry their fields, and the OpenTelemetry layer (when trace export is on)
//! exports them. Attributes never carry a token, the `apiAccessToken`, a
//! secret or a message's content; URLs lose their query, fragment and user
//! info.

use opentelemetry::trace::TraceContextExt as _;
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The server span of one Alexa request; the request's type, id, skill id,
/// outcome and status are recorded as they become known.
///
/// This span and every child below except the handler's are at `debug`:
/// with trace export off (and `RUST_LOG` at `info`) they cost nothing, and
/// with export on they are exported without changing the log lines.
pub fn server_span(path: &str) -> Span {
    tracing::debug_span!(
        "request",
        otel.name = %format_args!("POST {path}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = "POST",
        url.path = %path,
        http.response.status_code = Empty,
        "alexa.request.type" = Empty,
        alexa.request_id = Empty,
        alexa.skill_id = Empty,
        outcome = Empty,
    )
}

/// Record what the envelope says on the server span (`span`).
pub fn record_request(span: &Span, request_type: &str, request_id: &str, skill_id: Option<&str>) {
    span.record("alexa.request.type", request_type);
    span.record("alexa.request_id", request_id);
    if let Some(skill_id) = skill_id {
        span.record("alexa.skill_id", skill_id);
    }
}

/// Record the answer on the server span (`span`): a 5xx marks it failed.
pub fn record_answer(span: &Span, status: u16, outcome: &str) {
    // As i64: the OpenTelemetry layer exports u64 values as text.
    span.record("http.response.status_code", i64::from(status));
    span.record("outcome", outcome);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}

/// The handler's span (`handler`, at `info` like the request span handlers
/// have always logged in): every line a handler logs carries the request id
/// and type, and the trace id when the request is traced.
pub fn handler_span(request_id: &str, request_type: &str) -> Span {
    let span = tracing::info_span!(
        "handler",
        request_id = %request_id,
        request_type = %request_type,
        trace_id = Empty,
    );
    if let Some(trace_id) = sampled_trace_id(&span) {
        span.record("trace_id", tracing::field::display(trace_id));
    }
    span
}

/// The handler's outcome on its span (exported only; not a log field).
pub fn record_handler(span: &Span, outcome: &'static str, failed: bool) {
    span.set_attribute("outcome", outcome);
    if failed {
        span.set_status(opentelemetry::trace::Status::error(outcome));
    }
}

/// The verification span (`verify`); [`record_cert_cache`] fills in how the
/// signing cert was found.
pub fn verify_span() -> Span {
    tracing::debug_span!(
        "verify",
        alexa.cert_cache = Empty,
        outcome = Empty,
        otel.status_code = Empty
    )
}

/// On the current span (the verification span): `hit`, `miss` (loaded from
/// a preloaded file), `download`, `failure_remembered` or `saturated`.
pub fn record_cert_cache(result: &'static str) {
    Span::current().record("alexa.cert_cache", result);
}

/// A dedup store call (`dedup_claim`, `dedup_finish`, `dedup_release`) on
/// `store` (`memory`, `redis`, `off`); its result is recorded with
/// [`record_result`].
pub fn dedup_span(name: &'static str, store: &'static str) -> Span {
    match name {
        "dedup_claim" => tracing::debug_span!(
            "dedup_claim",
            dedup.store = store,
            dedup.result = Empty,
            otel.status_code = Empty
        ),
        "dedup_finish" => tracing::debug_span!(
            "dedup_finish",
            dedup.store = store,
            dedup.result = Empty,
            otel.status_code = Empty
        ),
        _ => tracing::debug_span!(
            "dedup_release",
            dedup.store = store,
            dedup.result = Empty,
            otel.status_code = Empty
        ),
    }
}

/// Record a dedup call's result (`error` marks the span failed).
pub fn record_result(span: &Span, result: &'static str) {
    span.record("dedup.result", result);
    if result == "error" {
        span.record("otel.status_code", "ERROR");
    }
}

/// An outbound HTTP call (`http_client`), named `"{method} {target}"`
/// (`POST webhook`, `GET lists`, `POST lwa`, `GET cert_download`), with the
/// HTTP semantic-convention attributes. `url.full` has no query, fragment or
/// user info.
pub fn client_span(target: &'static str, method: &str, url: &url::Url) -> Span {
    tracing::debug_span!(
        "http_client",
        otel.name = %format_args!("{method} {target}"),
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = %method,
        server.address = url.host_str().unwrap_or(""),
        server.port = i64::from(url.port_or_known_default().unwrap_or(0)),
        url.full = %safe_url(url),
        http.response.status_code = Empty,
        "error.type" = Empty,
    )
}

/// A client span's answer: 4xx and 5xx mark it failed (semantic conventions).
pub fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", i64::from(status));
    if status >= 400 {
        span.record("error.type", tracing::field::display(status));
        span.record("otel.status_code", "ERROR");
    }
}

/// A client span's call that got no answer (`timeout`, `transport`, ...).
pub fn record_error(span: &Span, kind: &'static str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// A queue publish (`queue_publish`, kind producer) to `destination` on
/// `system` (`nats`, `rabbitmq`, `redis`).
pub fn publish_span(system: &'static str, destination: &str) -> Span {
    tracing::debug_span!(
        "queue_publish",
        otel.name = %format_args!("publish {destination}"),
        otel.kind = "producer",
        otel.status_code = Empty,
        messaging.system = system,
        "messaging.operation.type" = "publish",
        messaging.destination.name = %destination,
        "error.type" = Empty,
    )
}

/// `url` without query, fragment, user name and password.
pub fn safe_url(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.into()
}

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-<flags>`),
/// when trace export is on and the span is being recorded.
pub fn traceparent(span: &Span) -> Option<String> {
    let cx = span.context();
    let otel = cx.span();
    let sc = otel.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// The `traceparent` of the current span (see [`traceparent`]).
pub fn current_traceparent() -> Option<String> {
    traceparent(&Span::current())
}

/// The trace id of `span` when trace export is on and the span is sampled.
pub fn sampled_trace_id(span: &Span) -> Option<opentelemetry::trace::TraceId> {
    let cx = span.context();
    let otel = cx.span();
    let sc = otel.span_context();
    (sc.is_valid() && sc.is_sampled()).then(|| sc.trace_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_url_drops_query_and_credentials() {
        let url = url::Url::parse("https://u:p@h.example:8443/a/b?token=x#f").unwrap();
        assert_eq!(safe_url(&url), "https://h.example:8443/a/b");
    }

    #[test]
    fn no_traceparent_without_trace_export() {
        let span = tracing::info_span!("x");
        assert_eq!(traceparent(&span), None);
    }
}
