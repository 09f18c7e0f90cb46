//! # alexa-endpoint
//!
//! The HTTPS endpoint of an Alexa custom skill, headlined by
//! `Messaging.MessageReceived`: verify every request, run the registered
//! handler once per `requestId`, and acknowledge with HTTP 200 only after the
//! handler (and the Alexa API calls it made) finished.
//!
//! ```no_run
//! use alexa_endpoint::{Config, Response, Skill};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let skill = Skill::builder()
//!     .on_message(|ctx: alexa_endpoint::RequestContext, msg: alexa_endpoint::envelope::MessageReceivedRequest| async move {
//!         tracing::info!(request_id = ctx.request_id(), message = %msg.message, "got a message");
//!         Ok(Response::ack())
//!     })
//!     .build();
//! let config = Config::load(Some("config/local.toml".as_ref()))?;
//! alexa_endpoint::serve(skill, config).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dedup;
pub mod dev;
pub mod dispatch;
pub mod envelope;
pub mod error;
pub mod handlers;
pub mod metrics;
mod preflight;
pub(crate) mod redis_conn;
pub mod server;
pub mod telemetry;
pub mod verify;

pub use config::Config;
pub use dispatch::{
    Handler, HandlerError, HandlerResult, Outcome, RequestContext, Skill, SkillBuilder,
};
pub use envelope::{Request, RequestEnvelope, Response};
pub use error::EndpointError;
pub use server::{serve, Endpoint, Server};

/// Install aws-lc-rs as rustls' process-wide crypto provider (idempotent).
/// Everything that builds a TLS client or server calls it first.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
