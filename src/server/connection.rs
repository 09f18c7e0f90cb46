//! Serving one accepted connection with hyper, under the header and idle
//! timeouts.
//!
//! hyper's own header-read timeout also runs while a keep-alive connection
//! waits for its next request, which would cut idle connections at the
//! (short) header timeout. So the timeouts are kept here, by a watchdog that
//! sees when requests start and end and when bytes arrive:
//!
//! - a new connection must deliver a whole request head within
//!   `header_read_timeout`;
//! - between requests, a connection that sends nothing is closed after
//!   `idle_timeout`; once a byte of the next request arrives, its head must
//!   be complete within `header_read_timeout`;
//! - while a request is being handled, the body deadline (the route) and the
//!   handler deadline (the pipeline) apply instead.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Connection-level limits of a listener.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// `server.header_read_timeout_ms`.
    pub header_read_timeout: Duration,
    /// `server.idle_timeout_secs`.
    pub idle_timeout: Duration,
    /// `server.max_header_bytes`.
    pub max_header_bytes: usize,
    /// Accept h2c (prior knowledge) on plain connections.
    pub h2c: bool,
}

/// Concurrent streams of one HTTP/2 connection.
const H2_MAX_CONCURRENT_STREAMS: u32 = 100;

/// The hyper connection builder for `limits`; `tls` connections may speak
/// HTTP/2 (negotiated by ALPN).
pub(crate) fn builder(limits: &ConnLimits, tls: bool) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Kept by the watchdog below, see the module docs.
        .header_read_timeout(None)
        .keep_alive(true)
        // hyper answers 431 when a head does not fit its read buffer
        // (which cannot be smaller than 8 KiB).
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        // Rapid-reset protection (hyper's defaults, stated).
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024);
    if tls || limits.h2c {
        builder
    } else {
        builder.http1_only()
    }
}

/// What the watchdog knows about one connection. Times are milliseconds
/// since the connection was accepted.
struct Watch {
    accepted: Instant,
    /// Requests being handled now.
    active: AtomicUsize,
    /// Whether a request has been answered (the connection is keep-alive).
    served: AtomicBool,
    /// When the connection last became idle.
    idle_since: AtomicU64,
    /// First byte read since it became idle (`NONE`: none yet).
    first_read: AtomicU64,
    /// Wakes the watchdog when the deadline may have moved.
    changed: Notify,
}

const NONE: u64 = u64::MAX;

impl Watch {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            active: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            first_read: AtomicU64::new(NONE),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.accepted + Duration::from_millis(ms)
    }

    fn on_read(&self) {
        if self.first_read.load(Ordering::Relaxed) == NONE {
            self.first_read.store(self.now_ms(), Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
    }

    fn request_finished(&self) {
        if self.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle_since.store(self.now_ms(), Ordering::Relaxed);
            self.first_read.store(NONE, Ordering::Relaxed);
            self.served.store(true, Ordering::Relaxed);
        }
        self.changed.notify_one();
    }

    /// When the connection must be closed if nothing changes; `None` while a
    /// request is being handled.
    fn deadline(&self, limits: &ConnLimits) -> Option<Instant> {
        if self.active.load(Ordering::SeqCst) > 0 {
            return None;
        }
        if !self.served.load(Ordering::Relaxed) {
            return Some(self.accepted + limits.header_read_timeout);
        }
        match self.first_read.load(Ordering::Relaxed) {
            NONE => Some(self.at(self.idle_since.load(Ordering::Relaxed)) + limits.idle_timeout),
            first => Some(self.at(first) + limits.header_read_timeout),
        }
    }

    /// Resolves when the connection has outlived its deadline.
    async fn expired(&self, limits: &ConnLimits) {
        loop {
            match self.deadline(limits) {
                None => self.changed.notified().await,
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// Counts a request as active for as long as it lives.
struct Active(Arc<Watch>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// An I/O stream that reports reads to the watchdog.
pub(crate) struct Watched<I> {
    io: I,
    watch: Arc<Watch>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.on_read();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The watchdog of one connection; its clock starts when it is made.
#[derive(Clone)]
pub(crate) struct ConnWatch(Arc<Watch>);

impl ConnWatch {
    /// Start watching a connection accepted now.
    pub(crate) fn new() -> Self {
        Self(Arc::new(Watch::new()))
    }

    /// `io`, reporting its reads to this watchdog.
    pub(crate) fn wrap<I>(&self, io: I) -> Watched<I> {
        Watched {
            io,
            watch: self.0.clone(),
        }
    }

    /// The deadline of a connection that has sent no whole request yet (a
    /// TLS handshake must finish before it).
    pub(crate) fn first_request_deadline(&self, limits: &ConnLimits) -> Instant {
        self.0.accepted + limits.header_read_timeout
    }
}

/// Serve HTTP on `conn` with `app` until the client closes, a timeout
/// expires, or `shutdown` fires (then: idle and half-read connections close
/// at once, a request being handled is answered first).
pub(crate) async fn serve<I>(
    watch: ConnWatch,
    io: I,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    limits: ConnLimits,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ConnWatch(watch) = watch;
    let service = {
        let watch = watch.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            watch.request_started();
            let active = Active(watch.clone());
            let app = app.clone();
            async move {
                let response: Result<_, Infallible> =
                    app.oneshot(request.map(axum::body::Body::new)).await;
                drop(active);
                response
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let expired = watch.expired(&limits);
    tokio::pin!(expired);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        () = &mut expired => {
            tracing::debug!("connection timed out (header or idle timeout)");
            return;
        }
        () = shutdown.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => {}
        () = &mut expired => {}
    }
}
