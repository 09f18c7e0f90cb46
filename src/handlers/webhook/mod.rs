//! The `webhook` handler (delivery: feature `webhook`): POSTs each message to `handler.webhook.url`, signed
//! per [Standard Webhooks](https://www.standardwebhooks.com/) when a secret is
//! set, and acknowledges only after the backend answered 2xx.
//!
//! No internal retry: a failure answers 5xx and Alexa's re-delivery is the
//! retry. The call is bounded by the handler deadline.

mod config;

#[cfg(feature = "webhook")]
use std::sync::Arc;
#[cfg(feature = "webhook")]
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use secrecy::ExposeSecret;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
#[cfg(feature = "webhook")]
use tokio::sync::Semaphore;
#[cfg(feature = "webhook")]
use tracing::Instrument;

#[cfg(feature = "webhook")]
use crate::telemetry::spans;
pub use config::{WebhookConfig, WebhookSecret};

use crate::dispatch::{HandlerError, RequestContext};
use crate::envelope::MessageReceivedRequest;
#[cfg(feature = "webhook")]
use crate::{
    dispatch::HandlerResult, envelope::Response, handlers::HandlerSetupError,
    http_client::HttpPolicy,
};

/// Sign `body` per Standard Webhooks: base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`, as the `webhook-signature` value `v1,<sig>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    )
}

/// The JSON body POSTed to the webhook.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    request_id: &'a str,
    timestamp: String,
    user_id: Option<&'a str>,
    skill_id: Option<&'a str>,
    api_endpoint: Option<&'a str>,
    /// `None`: the key is left out (`include_token = false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    api_access_token: Option<Option<&'a str>>,
    message: &'a serde_json::Value,
}

/// The JSON body the webhook (and the `queue` handler) sends for a message:
/// `requestId`, `timestamp`, `userId`, `skillId`, `apiEndpoint`,
/// `apiAccessToken` (left out unless `include_token`) and `message` exactly
/// as received.
pub fn message_body(
    ctx: &RequestContext,
    msg: &MessageReceivedRequest,
    include_token: bool,
) -> Result<Vec<u8>, HandlerError> {
    let body = WebhookBody {
        request_id: ctx.request_id(),
        timestamp: msg.timestamp.format(&Rfc3339).map_err(HandlerError::new)?,
        user_id: ctx.user_id(),
        skill_id: ctx.skill_id(),
        api_endpoint: ctx.api_endpoint(),
        api_access_token: include_token.then(|| ctx.api_access_token().map(|t| t.expose_secret())),
        message: &msg.message,
    };
    serde_json::to_vec(&body).map_err(HandlerError::new)
}

#[cfg(feature = "webhook")]
/// A configured webhook target. Cheap to clone.
#[derive(Clone)]
pub struct Webhook {
    inner: Arc<Inner>,
}

#[cfg(feature = "webhook")]
struct Inner {
    url: url::Url,
    key: Option<WebhookSecret>,
    http: reqwest::Client,
    /// One permit per delivery in progress: at most
    /// [`MAX_CONCURRENT_DELIVERIES`] outbound requests (and sockets).
    slots: Semaphore,
}

#[cfg(feature = "webhook")]
/// Deliveries in progress at once. When all are taken, a message answers
/// 503 at once (Alexa re-delivers it) instead of queueing for a socket past
/// the handler deadline.
pub const MAX_CONCURRENT_DELIVERIES: usize = 128;

#[cfg(feature = "webhook")]
/// Idle keep-alive connections kept to the webhook backend.
const MAX_IDLE_CONNECTIONS: usize = 32;

#[cfg(feature = "webhook")]
/// An idle connection to the webhook backend is closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(feature = "webhook")]
/// Why a delivery failed (its text never contains a token or the secret).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No answer within the handler deadline.
    #[error("webhook did not answer in time")]
    Timeout,
    /// Connection failed.
    #[error("webhook unreachable: {0}")]
    Transport(String),
    /// The backend answered non-2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
    /// Every delivery slot is taken (the backend is slow).
    #[error("webhook saturated: {MAX_CONCURRENT_DELIVERIES} deliveries in progress")]
    Saturated,
}

#[cfg(feature = "webhook")]
impl Webhook {
    /// Build from `[handler.webhook]`; `deadline` bounds each call.
    pub fn new(cfg: &WebhookConfig, deadline: Duration) -> Result<Self, HandlerSetupError> {
        let http = HttpPolicy::new(deadline)
            .max_idle_per_host(MAX_IDLE_CONNECTIONS)
            .idle_timeout(IDLE_CONNECTION_TIMEOUT)
            .build()
            .map_err(|e| HandlerSetupError {
                key: "handler.webhook",
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                url: cfg.url.expose_url().clone(),
                key: cfg.secret.clone(),
                http,
                slots: Semaphore::new(MAX_CONCURRENT_DELIVERIES),
            }),
        })
    }

    /// POST the message; `Ok(ack)` only after a 2xx.
    pub async fn deliver(
        &self,
        ctx: &RequestContext,
        msg: &MessageReceivedRequest,
    ) -> HandlerResult {
        let Ok(_slot) = self.inner.slots.try_acquire() else {
            if let Some(metrics) = ctx.metrics() {
                metrics.shed("outbound_saturated");
            }
            return Err(HandlerError::unavailable(WebhookError::Saturated));
        };
        let body = message_body(ctx, msg, true)?;
        let mut request = self
            .inner
            .http
            .post(self.inner.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(key) = &self.inner.key {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            request = request
                .header("webhook-id", ctx.request_id())
                .header("webhook-timestamp", now.to_string())
                .header(
                    "webhook-signature",
                    sign(key.expose_key(), ctx.request_id(), now, &body),
                );
        }
        let span = spans::client_span("webhook", "POST", &self.inner.url);
        // The backend continues the trace from this call.
        if let Some(traceparent) = spans::traceparent(&span) {
            request = request.header("traceparent", traceparent);
        }
        let sent = request.body(body).send().instrument(span.clone()).await;
        let answer = sent.map_err(|e| {
            spans::record_error(
                &span,
                if e.is_timeout() {
                    "timeout"
                } else {
                    "transport"
                },
            );
            // reqwest's error text may include the URL, never the body.
            if e.is_timeout() {
                HandlerError::unavailable(WebhookError::Timeout)
            } else {
                HandlerError::unavailable(WebhookError::Transport(e.without_url().to_string()))
            }
        })?;
        let status = answer.status();
        spans::record_status(&span, status.as_u16());
        if status.is_success() {
            Ok(Response::ack())
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(HandlerError::unavailable(WebhookError::Status(
                status.as_u16(),
            )))
        } else {
            Err(HandlerError::new(WebhookError::Status(status.as_u16())))
        }
    }
}
