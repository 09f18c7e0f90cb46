//! Route handlers: the Alexa POST (bounded body, admission, access log and
//! metrics), health, readiness, metrics, and the JSON 404/405 of the
//! standalone listeners.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tracing::Instrument;

use crate::dispatch::{observe, Handled};
use crate::error::EndpointError;

use super::body;
use super::endpoint::Endpoint;

/// `POST {server.path}`: one Alexa request.
pub(super) async fn alexa(State(endpoint): State<Endpoint>, request: Request) -> Response {
    // One server span per request: verification, dedup, the handler and its
    // outbound calls are its children; the access log line is written in it.
    let span = crate::telemetry::spans::server_span(endpoint.path());
    answer(endpoint, request).instrument(span).await
}

async fn answer(endpoint: Endpoint, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let handled = if endpoint.is_shutting_down() {
        Handled::rejected(None, EndpointError::ShuttingDown)
    } else {
        match body::read(
            &parts.headers,
            body,
            endpoint.body_limits(),
            endpoint.draining(),
        )
        .await
        {
            Err(error) => Handled::rejected(None, error),
            Ok(body) => match endpoint.admit() {
                // The slot is held until the answer is ready.
                Some(_admitted) => endpoint.pipeline().handle(&parts.headers, body).await,
                None => Handled::rejected(None, EndpointError::Overloaded),
            },
        }
    };
    let mut response = observe(endpoint.metrics(), handled, started.elapsed());
    // An answer given before the body was read whole leaves unread bytes on
    // the connection: close it rather than parse them as a next request.
    let status = response.status();
    let unread = status == StatusCode::PAYLOAD_TOO_LARGE
        || status == StatusCode::REQUEST_TIMEOUT
        || (status == StatusCode::SERVICE_UNAVAILABLE && endpoint.is_shutting_down());
    if unread && parts.version <= Version::HTTP_11 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// `GET /healthz`: the process is alive.
pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: not shutting down, dedup store reachable, and the skill's
/// [`crate::dispatch::Readiness`] check (if any) passes.
pub(super) async fn readyz(State(endpoint): State<Endpoint>) -> Response {
    if endpoint.is_shutting_down() {
        let body = json!({"error": "shutting_down", "message": "the endpoint is shutting down"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let store = endpoint.dedup_store();
    match store.ping().await {
        Ok(()) => match endpoint.pipeline().skill().readiness() {
            Some(check) => match check.check().await {
                Ok(()) => {
                    Json(json!({"status": "ready", "dedup": store.name(), "handler": check.name()}))
                        .into_response()
                }
                Err(e) => {
                    tracing::warn!(dependency = check.name(), error = %e, "not ready: handler dependency unavailable");
                    let body = json!({"error": "handler_unavailable", "message": format!("handler dependency ({}) unavailable", check.name())});
                    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
                }
            },
            None => Json(json!({"status": "ready", "dedup": store.name()})).into_response(),
        },
        Err(e) => {
            tracing::warn!(dedup = store.name(), error = %e, "readiness: dedup store unreachable");
            let body = json!({
                "error": "dedup_store_unavailable",
                "message": format!("dedup store ({}) unreachable; see the endpoint's log", store.name()),
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /metrics`: Prometheus / OpenMetrics text.
pub(super) async fn metrics(State(endpoint): State<Endpoint>) -> Response {
    let text = endpoint.metrics().encode();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `router` with the standalone server's JSON 404 (unknown path) and 405
/// (known path, other method) answers.
pub(super) fn with_json_fallbacks(router: Router) -> Router {
    router
        .fallback(|| async { EndpointError::NotFound })
        .method_not_allowed_fallback(|| async { EndpointError::MethodNotAllowed })
}
