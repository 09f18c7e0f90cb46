//! # alexa-endpoint
//!
//! The HTTPS endpoint of an Alexa custom skill, headlined by
//! `Messaging.MessageReceived`: verify every request, run the registered
//! handler once per `requestId`, and acknowledge with HTTP 200 only after the
//! handler (and the Alexa API calls it made) finished.
//!
//! ```no_run
//! use alexa_endpoint::envelope::MessageReceivedRequest;
//! use alexa_endpoint::{Config, RequestContext, Response, Skill};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let skill = Skill::builder()
//!     .on_message(|ctx: RequestContext, msg: MessageReceivedRequest| async move {
//!         tracing::info!(request_id = ctx.request_id(), message = %msg.message, "got a message");
//!         Ok(Response::ack())
//!     })
//!     .build();
//! let config = Config::load(Some("config/local.toml".as_ref()))?;
//! alexa_endpoint::telemetry::init(config.log.format);
//! alexa_endpoint::serve(skill, config).await?;
//! # Ok(()) }
//! ```
//!
//! The types a handler author needs are re-exported here; the modules that
//! stay public ([`api`], [`config`], [`dedup`], [`envelope`], [`handlers`],
//! [`http_client`], [`telemetry`], [`verify`] and, with the `dev` feature,
//! `dev`) are the parts usable on their own.
//!
//! # Cargo features
//!
//! All on by default. `default-features = false` keeps the endpoint core
//! (verification, dedup, dispatch, the Alexa API clients, `Endpoint`,
//! `Server`) and the built-in `log` handler.
//!
//! | feature | what | pulls in |
//! | --- | --- | --- |
//! | `cli` | the `alexa-endpoint` binary (implies the four below) | clap, mimalloc, anyhow |
//! | `dev` | `dev`: a local test PKI and request signing | rcgen |
//! | `webhook` | the built-in `webhook` handler | — |
//! | `queue` | the built-in `queue` handler (NATS, RabbitMQ, Redis Streams) | async-nats, lapin |
//! | `list-sync` | the built-in `list-sync` handler | — |
//!
//! # Layout
//!
//! One job per module; the folder to touch for each kind of change:
//!
//! - `lib.rs`: the public API: re-exports, [`install_crypto_provider`].
//! - [`config`]: embedded defaults → file → `ALEXA_ENDPOINT_*` variables;
//!   validation naming the key. A new setting: its section struct there,
//!   plus `config/default.toml` and the README's table.
//! - [`envelope`]: request and response types (serde), parsing with
//!   field-naming errors, the response builder. **A new request type**: one
//!   [`envelope::RequestKind`] variant in
//!   `envelope/request_kind.rs` plus its struct (see that module's docs);
//!   routing, verification tolerance, metrics and logs follow from the kind.
//! - [`verify`]: cert URL rules, cert chain download and cache, signature,
//!   timestamp, skill id; [`verify::Verifier`] works standalone.
//! - `dispatch/` (private; its types are re-exported here): [`Skill`] and
//!   [`SkillBuilder`] (handler registry, shared state, routing),
//!   [`RequestContext`], [`HandlerError`], the request pipeline, [`Outcome`]
//!   (one label set) and the access log + request metrics in one place.
//! - [`dedup`]: the [`DedupStore`](dedup::DedupStore) trait and the guard
//!   that owns claim → run → finish/release → retry. **A new dedup backend**:
//!   one module in `dedup/` implementing the trait, one arm in
//!   [`dedup::from_config`], and in `dedup/config.rs` one `dedup.backend`
//!   value with one [`DedupStoreConfig`](config::DedupStoreConfig) variant
//!   for its settings.
//! - `redis_conn.rs` (private): Redis connections (one node or Cluster, TLS)
//!   shared by the Redis dedup store and the Redis Streams queue.
//! - [`api`]: the Alexa REST clients (lists, reminders, Skill Messaging,
//!   Proactive Events, Login with Amazon), the endpoint allowlist, retries.
//!   **A new Alexa API client**: one module in `api/` built on the shared
//!   `UserApi`/`Http` call code (retries, deadline, observers come with it),
//!   plus an accessor on [`RequestContext`] if handlers use it.
//! - [`http_client`]: the one factory of outbound HTTP clients (API calls,
//!   cert downloads, webhook, CLI).
//! - `server/` (private; [`Endpoint`], [`Server`], [`serve`] re-exported):
//!   the embeddable router, ops routes and shutdown; the standalone server's
//!   accept loops, connection cap, header/idle timeouts, bounded body, TLS,
//!   signals.
//! - [`handlers`]: the binary's built-in handlers (`log`, `webhook`,
//!   `list_sync`, `queue`), chosen by `handler.kind`.
//! - `metrics.rs` (private): the Prometheus registry of one endpoint.
//! - `error.rs` (private; [`EndpointError`] re-exported): the one mapping of
//!   failures to HTTP answers.
//! - [`telemetry`]: logging set-up ([`telemetry::init`]).
//! - `dev/` (feature `dev`): a test PKI and request signing for
//!   `dev pki` / `dev sign` and the tests.
//! - `main.rs`, `cli/`: the binary (feature `cli`), a thin CLI over this
//!   library.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dedup;
#[cfg(feature = "dev")]
pub mod dev;
mod dispatch;
pub mod envelope;
mod error;
pub mod handlers;
pub mod http_client;
mod metrics;
mod preflight;
mod redis_conn;
mod server;
pub mod telemetry;
pub mod verify;

pub use config::Config;
pub use dispatch::{
    BoxError, Handler, HandlerError, HandlerResult, Outcome, Readiness, RequestContext, Skill,
    SkillBuilder, StartupError,
};
pub use envelope::{Request, RequestEnvelope, RequestKind, Response, ResponseBuilder};
pub use error::EndpointError;
pub use server::{serve, shutdown_signal, Endpoint, ServeError, Server};

/// The crates this one's public signatures use, re-exported so that a user
/// gets the same versions without guessing: [`axum`] (routers from
/// [`Endpoint`]), [`secrecy`] (tokens and secrets), [`serde_json`] (message
/// payloads, directives) and [`tracing`] (logging from handlers, inside the
/// request's span).
pub use axum;
pub use secrecy;
pub use serde_json;
pub use tracing;

/// Install aws-lc-rs as rustls' process-wide crypto provider, once per
/// process (later calls do nothing). Everything that builds a TLS client or
/// server calls it first ([`http_client::HttpPolicy::build`] does).
pub fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err: the host application installed a provider first; it is kept.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// Every Rust block of README.md, compiled (and run unless `no_run`) as a
/// doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
