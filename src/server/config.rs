//! `[server]`: listener, path, limits, TLS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::units::{self, millis, range, secs};
use crate::config::Problem;

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Socket address to listen on.
    pub listen: SocketAddr,
    /// Path Alexa POSTs to.
    pub path: String,
    /// Largest accepted request body; larger answers 413.
    pub body_limit_bytes: usize,
    /// `shutdown_grace_secs`: time in-flight requests get to finish after
    /// SIGTERM/SIGINT.
    #[serde(rename = "shutdown_grace_secs", with = "secs")]
    pub shutdown_grace: Duration,
    /// Where `/healthz`, `/readyz` and `/metrics` are served. Equal to
    /// `listen` (same address, non-zero port): both on one port.
    pub admin_listen: SocketAddr,
    /// `header_read_timeout_ms`: a connection whose request headers are not
    /// complete this long after it opened (or after the first byte of a
    /// keep-alive request) is closed.
    #[serde(rename = "header_read_timeout_ms", with = "millis")]
    pub header_read_timeout: Duration,
    /// `body_read_timeout_ms`: a request whose whole body has not arrived
    /// this long after its headers answers 408 and the connection is closed.
    #[serde(rename = "body_read_timeout_ms", with = "millis")]
    pub body_read_timeout: Duration,
    /// `idle_timeout_secs`: a keep-alive connection idle this long between
    /// requests is closed.
    #[serde(rename = "idle_timeout_secs", with = "secs")]
    pub idle_timeout: Duration,
    /// Open connections on the Alexa listener; beyond it new ones are closed
    /// at once. Lowered at start-up if the file-descriptor limit is smaller.
    pub max_connections: usize,
    /// Largest request head (request line and headers); larger answers 431.
    pub max_header_bytes: usize,
    /// Alexa requests handled at once; beyond it answers 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Accept HTTP/2 with prior knowledge (h2c) on a plain-HTTP listener.
    /// (Over TLS, HTTP/2 is negotiated by ALPN as before.)
    pub http2: bool,
    /// Serve HTTPS with these PEM files; absent means plain HTTP.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// `[server.tls]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first); a relative path in the config
    /// file is relative to the file's directory.
    pub cert: PathBuf,
    /// PEM private key (relative: as `cert`).
    pub key: PathBuf,
}

impl ServerConfig {
    /// Check what serde cannot: the path, and every number against its bounds.
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        if !self.path.starts_with('/') {
            return Err(Problem::new("server.path", "must start with '/'"));
        }
        if ["/healthz", "/readyz", "/metrics"].contains(&self.path.as_str()) {
            return Err(Problem::new(
                "server.path",
                "is reserved for operations endpoints",
            ));
        }
        range(
            "server.body_limit_bytes",
            self.body_limit_bytes,
            1024,
            16 << 20,
        )?;
        units::secs_range("server.shutdown_grace_secs", self.shutdown_grace, 0, 600)?;
        units::millis_range(
            "server.header_read_timeout_ms",
            self.header_read_timeout,
            1,
            300_000,
        )?;
        units::millis_range(
            "server.body_read_timeout_ms",
            self.body_read_timeout,
            1,
            300_000,
        )?;
        units::secs_range("server.idle_timeout_secs", self.idle_timeout, 1, 3600)?;
        range("server.max_connections", self.max_connections, 1, 1_000_000)?;
        range(
            "server.max_header_bytes",
            self.max_header_bytes,
            8192,
            1 << 20,
        )?;
        range("server.max_in_flight", self.max_in_flight, 1, 100_000)?;
        Ok(())
    }
}
