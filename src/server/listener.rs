//! The accept loop of one listener: connection cap, TLS handshake, then
//! [`connection::serve`] in a task per connection.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;

use super::connection::{self, ConnLimits, ConnWatch};
use super::throttle::Throttled;
use super::tls::Tls;

/// Pause after an accept error such as "too many open files", so the loop
/// does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(20);

/// One listening socket and how its connections are served.
pub(crate) struct Listener {
    /// `alexa` or `admin`, for logs.
    pub name: &'static str,
    pub socket: TcpListener,
    pub app: Router,
    pub limits: ConnLimits,
    pub tls: Option<Tls>,
    pub max_connections: usize,
    /// Connection figures are counted for the Alexa listener only.
    pub metrics: Option<Arc<Metrics>>,
}

/// An open connection: holds its `max_connections` slot and counts in the
/// open-connections gauge until dropped.
struct Open {
    _slot: OwnedSemaphorePermit,
    metrics: Option<Arc<Metrics>>,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(m) = &self.metrics {
            m.open_connections(-1);
        }
    }
}

/// Errors of `accept` that concern one connection only.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

impl Listener {
    /// Accept until `shutdown`, then drop the socket (no new connection is
    /// accepted) and return; the connections, tracked by `connections`,
    /// finish on their own (see [`connection::serve`]).
    pub(crate) async fn run(self, shutdown: CancellationToken, connections: TaskTracker) {
        let Listener {
            name,
            socket,
            app,
            limits,
            tls,
            max_connections,
            metrics,
        } = self;
        let builder = Arc::new(connection::builder(&limits, tls.is_some()));
        let slots = Arc::new(Semaphore::new(max_connections));
        let mut at_capacity = Throttled::new();
        let mut accept_failing = Throttled::new();
        loop {
            let accepted = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                accepted = socket.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    if let Some(n) = accept_failing.hit() {
                        tracing::error!(listener = name, error = %e, occurrences = n,
                            "cannot accept connections (file-descriptor limit?)");
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                if let Some(m) = &metrics {
                    m.connection_rejected();
                }
                if let Some(n) = at_capacity.hit() {
                    tracing::warn!(
                        listener = name,
                        max_connections,
                        rejected = n,
                        "connection limit reached: new connections are closed at once"
                    );
                }
                drop(stream);
                continue;
            };
            if let Some(m) = &metrics {
                m.open_connections(1);
            }
            let open = Open {
                _slot: slot,
                metrics: metrics.clone(),
            };
            let _ = stream.set_nodelay(true);
            let (app, builder, tls, shutdown) =
                (app.clone(), builder.clone(), tls.clone(), shutdown.clone());
            connections.spawn(async move {
                serve_one(stream, app, &builder, limits, tls, shutdown).await;
                drop(open);
            });
        }
        tracing::debug!(listener = name, "no longer accepting connections");
    }
}

async fn serve_one(
    stream: TcpStream,
    app: Router,
    builder: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: ConnLimits,
    tls: Option<Tls>,
    shutdown: CancellationToken,
) {
    let watch = ConnWatch::new();
    match tls {
        None => {
            let io = watch.wrap(stream);
            connection::serve(watch, io, app, builder, limits, shutdown).await;
        }
        Some(tls) => {
            let deadline = watch.first_request_deadline(&limits);
            let handshake = tls.acceptor().accept(watch.wrap(stream));
            let io = tokio::select! {
                () = shutdown.cancelled() => return,
                done = tokio::time::timeout_at(deadline, handshake) => match done {
                    Ok(Ok(io)) => io,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_elapsed) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                },
            };
            connection::serve(watch, io, app, builder, limits, shutdown).await;
        }
    }
}
