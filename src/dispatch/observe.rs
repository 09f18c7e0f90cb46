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
/// error, which never reaches the body) except a shed request (`overloaded`),
/// which is logged at debug only. Never a token.
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
            match error.log_level() {
                tracing::Level::ERROR => {
                    tracing::error!(request_type, request_id, status, duration_us, outcome, trace_id, error = %error, "request");
                }
                tracing::Level::WARN => {
                    tracing::warn!(request_type, request_id, status, duration_us, outcome, trace_id, error = %error, "request");
                }
                _ => {
                    tracing::debug!(request_type, request_id, status, duration_us, outcome, trace_id, error = %error, "request");
                }
            }
            (status, error.into_response())
        }
    };
    metrics.request(kind, status, elapsed);
    spans::record_answer(&span, status, outcome);
    response
}

#[cfg(test)]
mod tests {
    use crate::error::EndpointError;
    use crate::telemetry::capture::Capture;

    use super::*;

    fn logged_at_info(error: EndpointError) -> (u16, String) {
        let sink = Capture::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let metrics = Metrics::new(None);
        let response = tracing::subscriber::with_default(subscriber, || {
            observe(
                &metrics,
                Handled::rejected(None, error),
                Duration::from_micros(5),
            )
        });
        (response.status().as_u16(), sink.text())
    }

    #[test]
    fn a_shed_request_is_not_logged_at_info_or_above_but_other_5xx_are() {
        let (status, shed) = logged_at_info(EndpointError::Overloaded);
        assert_eq!(status, 503);
        assert_eq!(
            shed, "",
            "one line per shed request would cost CPU under overload"
        );
        let (status, other) = logged_at_info(EndpointError::DeadlineExceeded);
        assert_eq!(status, 503);
        assert!(other.contains("ERROR"), "{other}");
        assert!(other.contains("handler_deadline_exceeded"), "{other}");
    }
}
