//! The axum router: the Alexa POST route, health, readiness, metrics, and
//! JSON error bodies for everything else (404, 405, 413).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::json;

use crate::dispatch::{Endpoint, Handled};
use crate::error::EndpointError;

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    endpoint: Arc<Endpoint>,
    shutting_down: Arc<AtomicBool>,
}

impl AppState {
    /// State over an endpoint; `shutting_down` turns `/readyz` to 503.
    pub fn new(endpoint: Arc<Endpoint>, shutting_down: Arc<AtomicBool>) -> Self {
        Self {
            endpoint,
            shutting_down,
        }
    }
}

/// Build the router: `POST {path}` for Alexa, `GET /healthz`, `GET /readyz`,
/// `GET /metrics`.
pub fn router(state: AppState, path: &str, body_limit_bytes: usize) -> Router {
    Router::new()
        .route(
            path,
            post(alexa).layer(DefaultBodyLimit::max(body_limit_bytes)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { EndpointError::NotFound })
        .method_not_allowed_fallback(|| async { EndpointError::MethodNotAllowed })
        .with_state(state)
}

/// `POST {server.path}`: one Alexa request.
async fn alexa(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let handled = match body {
        Ok(body) => state.endpoint.handle(&headers, body).await,
        Err(rejection) => {
            let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                EndpointError::BodyTooLarge
            } else {
                EndpointError::BodyUnreadable
            };
            Handled::rejected(None, error)
        }
    };
    let elapsed = started.elapsed();
    let Handled {
        request_type,
        request_id,
        outcome,
        result,
    } = handled;
    let request_type = request_type.as_deref().unwrap_or("");
    let request_id = request_id.as_deref().unwrap_or("");
    let duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let (status, response) = match result {
        Ok(bytes) => {
            tracing::info!(
                request_type,
                request_id,
                status = 200,
                duration_us,
                outcome,
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
                tracing::error!(request_type, request_id, status, duration_us, outcome, error = %error, "request");
            } else {
                tracing::warn!(request_type, request_id, status, duration_us, outcome, error = %error, "request");
            }
            (status, error.into_response())
        }
    };
    state
        .endpoint
        .metrics()
        .request(request_type, status, elapsed);
    response
}

/// `GET /healthz`: the process is alive.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: config loaded, not shutting down, dedup store reachable,
/// and the skill's [`crate::dispatch::Readiness`] check (if any) passes.
async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.endpoint.dedup_store();
    if state.shutting_down.load(Ordering::SeqCst) {
        let body = json!({"error": "shutting_down", "message": "the endpoint is shutting down"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    match store.ping().await {
        Ok(()) => match state.endpoint.skill().readiness() {
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
            let body = json!({
                "error": "dedup_store_unavailable",
                "message": format!("dedup store ({}) unreachable: {e}", store.name()),
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /metrics`: Prometheus / OpenMetrics text.
async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.endpoint.metrics().encode();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
