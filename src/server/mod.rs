//! Running the endpoint: bind, serve (HTTP or HTTPS), shut down gracefully.
//!
//! Building ([`Server::bind`]) is separate from running ([`Server::run`]) so
//! that tests can bind port 0, read the address, then run.

mod routes;
mod shutdown;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;

pub use routes::{router, AppState};
pub use shutdown::signal as shutdown_signal;

use crate::config::Config;
use crate::dispatch::{Endpoint, Skill, StartupError};

/// Start-up or serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The endpoint could not be built from the configuration.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Binding, TLS files or serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, not yet running, endpoint server.
pub struct Server {
    listener: std::net::TcpListener,
    endpoint: Arc<Endpoint>,
    config: Config,
    shutting_down: Arc<AtomicBool>,
}

impl Server {
    /// Build the endpoint from `config` and bind `server.listen`.
    pub async fn bind(skill: Skill, config: Config) -> Result<Self, ServeError> {
        let endpoint = Endpoint::new(skill, &config)?;
        Self::bind_endpoint(endpoint, config).await
    }

    /// Bind with an endpoint built elsewhere (custom verifier or store).
    pub async fn bind_endpoint(endpoint: Endpoint, config: Config) -> Result<Self, ServeError> {
        let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
        let listener = listener.into_std()?;
        Ok(Self {
            listener,
            endpoint: Arc::new(endpoint),
            config,
            shutting_down: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The endpoint this server runs.
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    /// Serve until SIGTERM or SIGINT, then shut down gracefully.
    pub async fn run(self) -> Result<(), ServeError> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `shutdown` resolves, then: `/readyz` answers 503, no new
    /// connections are accepted, in-flight requests finish (and are
    /// acknowledged) within `server.shutdown_grace_secs`.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            listener,
            endpoint,
            config,
            shutting_down,
        } = self;
        let grace = Duration::from_secs(config.server.shutdown_grace_secs);
        let state = AppState::new(endpoint.clone(), shutting_down.clone());
        let app: Router = router(state, &config.server.path, config.server.body_limit_bytes);
        let handle = axum_server::Handle::new();
        let shutdown_started = Arc::new(OnceLock::new());
        {
            let handle = handle.clone();
            let shutdown_started = shutdown_started.clone();
            tokio::spawn(async move {
                shutdown.await;
                let _ = shutdown_started.set(Instant::now());
                shutting_down.store(true, Ordering::SeqCst);
                handle.graceful_shutdown(Some(grace));
            });
        }
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let service = app.into_make_service();
        match &config.server.tls {
            None => {
                tracing::info!(%addr, path = %config.server.path, "listening (HTTP)");
                axum_server::from_tcp(listener)
                    .handle(handle)
                    .serve(service)
                    .await?;
            }
            Some(tls_cfg) => {
                let rustls = tls::load(tls_cfg).await?;
                tls::reload_on_sighup(rustls.clone(), tls_cfg.clone());
                tracing::info!(%addr, path = %config.server.path, "listening (HTTPS)");
                axum_server::from_tcp_rustls(listener, rustls)
                    .handle(handle)
                    .serve(service)
                    .await?;
            }
        }
        // Connections are closed; handler tasks whose caller went away may
        // still be finishing their dedup bookkeeping.
        let tasks = endpoint.tasks();
        tasks.close();
        let since = shutdown_started
            .get()
            .map(Instant::elapsed)
            .unwrap_or_default();
        let left = grace.saturating_sub(since);
        if tokio::time::timeout(left, tasks.wait()).await.is_err() {
            tracing::warn!(
                in_flight = tasks.len(),
                "shutdown grace elapsed with handlers still running"
            );
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Run `skill` as a standalone endpoint with `config` until SIGTERM/SIGINT.
pub async fn serve(skill: Skill, config: Config) -> Result<(), ServeError> {
    Server::bind(skill, config).await?.run().await
}

impl Skill {
    /// An `axum::Router` serving this skill at `server.path` (plus
    /// `/healthz`, `/readyz`, `/metrics`), to mount in an existing app.
    /// Verification, dedup and the handler deadline follow `config`.
    pub fn into_router(self, config: &Config) -> Result<Router, StartupError> {
        let endpoint = Arc::new(Endpoint::new(self, config)?);
        let state = AppState::new(endpoint, Arc::new(AtomicBool::new(false)));
        Ok(router(
            state,
            &config.server.path,
            config.server.body_limit_bytes,
        ))
    }
}
