//! Running the endpoint: the embeddable [`Endpoint`], and the standalone
//! [`Server`] built from it — an Alexa listener serving only
//! `POST {server.path}` and an admin listener serving `/healthz`, `/readyz`
//! and `/metrics`, both under connection, header, body and idle limits.
//!
//! Building ([`Server::bind`]) is separate from running ([`Server::run`]) so
//! that tests can bind port 0, read the addresses, then run.

mod body;
mod config;
mod connection;
mod endpoint;
mod fd_limit;
mod listener;
mod routes;
mod shutdown;
mod throttle;
pub(crate) mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{ServerConfig, TlsConfig};
pub use endpoint::Endpoint;
pub use shutdown::signal as shutdown_signal;

use crate::config::Config;
use crate::dispatch::{Skill, StartupError};
use connection::ConnLimits;
use listener::Listener;

/// Connections the admin listener keeps open at once (probes and scrapes).
const ADMIN_MAX_CONNECTIONS: usize = 64;

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
    alexa: std::net::TcpListener,
    /// `None`: the operations routes share the Alexa listener.
    admin: Option<std::net::TcpListener>,
    endpoint: Endpoint,
    config: Config,
    max_connections: usize,
}

/// Length of the listen queue asked for (the kernel caps it at
/// `net.core.somaxconn`, 4096 on current Linux). A burst of connection
/// attempts larger than the queue gets SYNs dropped and retried by clients
/// after 1, 3, 7… s; tokio's default of 1024 is smaller than the default
/// `server.max_connections`.
const LISTEN_BACKLOG: u32 = 4096;

fn bind_std(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server can bind at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)?.into_std()
}

impl Server {
    /// Build the endpoint from `config` and bind `server.listen` and
    /// `server.admin_listen`. An invalid `config` (see [`Config::validate`])
    /// is a [`ServeError::Startup`] naming the key; nothing is bound.
    pub async fn bind(skill: Skill, config: Config) -> Result<Self, ServeError> {
        // `Endpoint::new` has validated `config`.
        let endpoint = Endpoint::new(skill, &config)?;
        Self::bind_validated(endpoint, config)
    }

    /// Bind with an endpoint built elsewhere (custom verifier or store).
    ///
    /// `config` is validated first, as by [`Endpoint::new`]: the listeners
    /// use its `[server]` limits, and it may have been changed since the
    /// endpoint was built. Raises the soft `RLIMIT_NOFILE` to the hard limit
    /// and lowers `server.max_connections` (with a warning) if it does not
    /// fit.
    pub async fn bind_endpoint(endpoint: Endpoint, config: Config) -> Result<Self, ServeError> {
        config.validate().map_err(StartupError::from)?;
        Self::bind_validated(endpoint, config)
    }

    /// [`Server::bind_endpoint`] with a `config` validated by the caller.
    fn bind_validated(endpoint: Endpoint, config: Config) -> Result<Self, ServeError> {
        let s = &config.server;
        let alexa = bind_std(s.listen)?;
        // Port 0 asks for a free port each time: two of them are two ports.
        let shared = s.admin_listen == s.listen && s.listen.port() != 0;
        let admin = if shared {
            None
        } else {
            Some(bind_std(s.admin_listen)?)
        };
        let max_connections = fd_limit::fit_connections(s.max_connections);
        Ok(Self {
            alexa,
            admin,
            endpoint,
            config,
            max_connections,
        })
    }

    /// The bound address of the Alexa listener (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.alexa.local_addr()
    }

    /// The bound address of the admin listener (the Alexa listener's when
    /// `server.admin_listen` equals `server.listen`).
    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin.as_ref().unwrap_or(&self.alexa).local_addr()
    }

    /// Serve until SIGTERM or SIGINT, then shut down gracefully.
    pub async fn run(self) -> Result<(), ServeError> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `shutdown` resolves, then: `/readyz` answers 503, no new
    /// connection is accepted, idle and half-read connections close at once,
    /// in-flight requests finish (and are acknowledged) within
    /// `server.shutdown_grace_secs`.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            alexa,
            admin,
            endpoint,
            config,
            max_connections,
        } = self;
        let s = &config.server;
        let grace = s.shutdown_grace;
        let tls = s.tls.as_ref().map(tls::Tls::load).transpose()?;
        shutdown::handle_sighup(tls.clone());
        let limits = ConnLimits {
            header_read_timeout: s.header_read_timeout,
            idle_timeout: s.idle_timeout,
            max_header_bytes: s.max_header_bytes,
            h2c: s.http2,
        };
        let alexa_app = match admin {
            Some(_) => endpoint.router(),
            None => endpoint.router().merge(endpoint.ops_router()),
        };
        alexa.set_nonblocking(true)?;
        let alexa = tokio::net::TcpListener::from_std(alexa)?;
        let addr = alexa.local_addr()?;
        let stop_alexa = CancellationToken::new();
        let stop_admin = CancellationToken::new();
        let connections = TaskTracker::new();
        let admin_connections = TaskTracker::new();
        let mut loops = Vec::new();
        loops.push(tokio::spawn(
            Listener {
                name: "alexa",
                socket: alexa,
                app: routes::with_json_fallbacks(alexa_app),
                limits,
                tls: tls.clone(),
                max_connections,
                metrics: Some(endpoint.metrics().clone()),
            }
            .run(stop_alexa.clone(), connections.clone()),
        ));
        if let Some(admin) = admin {
            admin.set_nonblocking(true)?;
            let admin = tokio::net::TcpListener::from_std(admin)?;
            let admin_addr = admin.local_addr()?;
            loops.push(tokio::spawn(
                Listener {
                    name: "admin",
                    socket: admin,
                    app: routes::with_json_fallbacks(endpoint.ops_router()),
                    limits: ConnLimits {
                        h2c: false,
                        ..limits
                    },
                    tls: None,
                    max_connections: ADMIN_MAX_CONNECTIONS,
                    metrics: None,
                }
                .run(stop_admin.clone(), admin_connections.clone()),
            ));
            tracing::info!(addr = %admin_addr, "listening (admin)");
        }
        let mode = if tls.is_some() { "HTTPS" } else { "HTTP" };
        tracing::info!(%addr, path = %s.path, max_connections, "listening ({mode})");

        shutdown.await;
        let started = Instant::now();
        // /readyz turns 503 and half-read bodies are abandoned before the
        // connections are told to finish.
        endpoint.begin_shutdown();
        stop_alexa.cancel();
        connections.close();
        if tokio::time::timeout(grace, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = connections.len(),
                "shutdown grace elapsed with connections still open"
            );
        }
        // Connections are closed; handler tasks whose caller went away may
        // still be finishing their dedup bookkeeping.
        endpoint
            .shutdown(grace.saturating_sub(started.elapsed()))
            .await;
        stop_admin.cancel();
        admin_connections.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), admin_connections.wait()).await;
        for accept_loop in loops {
            let _ = accept_loop.await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Run `skill` as a standalone endpoint with `config` until SIGTERM/SIGINT.
pub async fn serve(skill: Skill, config: Config) -> Result<(), ServeError> {
    Server::bind(skill, config).await?.run().await
}
