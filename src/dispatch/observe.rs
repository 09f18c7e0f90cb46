//! [`observe`]: the one place where a finished request is logged (one access
//! log line), counted (`alexa_endpoint_requests_total`, request duration) and
//! turned into its HTTP answer.

use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::dispatch::Handled;
use crate::metrics::Metrics;
use crate::telemetry::spans;

/// Log, count and answer one request: the route calls this with what
/// [`Pipeline::handle`](crate::dispatch::Pipeline::handle) returned and the
/// time since it read the request.
///
/// The access log line (`request`) carries `request_type`, `request_id`,
/// `status`, `duration_us`, `outcome` ([`Outcome::as_str`](crate::dispatch::Outcome::as_str))
/// and, when the request is traced, `trace_id`,
/// at info for a 200, warn for a 4xx, error for a 5xx (with the internal
/// error, which never reaches the body). Never a token.
pub fn observe(metrics: &Metrics, handled: Handled, elapsed: Duration) -> Response {
    let Handled {
        kind,
        request_id,
        outcome,
        result,
    } = handled;
    let request_type = kind.map_or("", |k| k.as_str());
    let request_id = request_id.as_deref().unwrap_or("");
    let outcome = outcome.as_str();
    let duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    // Only when the request is traced (export on, sampled); absent otherwise.
    let span = tracing::Span::current();
    let trace_id = spans::sampled_trace_id(&span).map(tracing::field::display);
    let (status, response) = match result {
        Ok(bytes) => {
            tracing::info!(
                request_type,
                request_id,
                status = 200,
                duration_us,
                outcome,
                trace_id,
                "request"
            );
            (
                200,
                ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
            )
        }
        Err(error) => {
            let status = error.status().as_u16();
            if status >= 500 {
                tracing::error!(request_type, request_id, status, duration_us, outcome, trace_id, error = %error, "request");
            } else {
                tracing::warn!(request_type, request_id, status, duration_us, outcome, trace_id, error = %error, "request");
            }
            (status, error.into_response())
        }
    };
    metrics.request(kind, status, elapsed);
    spans::record_answer(&span, status, outcome);
    response
}
