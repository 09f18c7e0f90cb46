//! Connections to Redis for everything in the endpoint that uses it: one
//! node or a Redis Cluster, plain TCP or TLS (rustls; `rediss://`).
//!
//! [`RedisClient::new`] only parses and checks the settings (URLs, CA file);
//! [`RedisClient::connect`] makes a [`RedisConn`], a cheap-to-clone,
//! multiplexed handle that reconnects on its own (a `ConnectionManager` on
//! one node, the cluster connection's own node pool in Cluster mode).
//!
//! TLS: certificate and host name are always verified. Without a CA file the
//! built-in web PKI roots (Mozilla's, from `webpki-roots`) are trusted; with
//! one, only the CAs in that file are (as `redis-cli --cacert` does), which
//! is what a private or managed-service CA needs.
//!
//! Credentials from the URLs never appear in [`RedisClient::shown`], in the
//! `Debug` output or in any error of this module: see
//! [`redact_url`](crate::config::redact_url).

use std::path::Path;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::{socket2::TcpKeepalive, TcpSettings};
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, TlsCertificates, Value};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::config::SecretUrl;
use crate::dedup::RedisTarget;

/// Where and how to connect.
#[derive(Clone, Copy)]
pub(crate) struct RedisSettings<'a> {
    /// One node, or the seed nodes of a Redis Cluster.
    pub target: &'a RedisTarget,
    /// Name of the single URL's config key, for error messages (`dedup.redis_url`).
    pub url_key: &'static str,
    /// Name of the cluster nodes' config key (`dedup.redis_cluster_nodes`).
    pub cluster_nodes_key: &'static str,
    /// Name of the CA file's config key (`dedup.redis_tls_ca`).
    pub tls_ca_key: &'static str,
    /// PEM file with the CAs to trust for `rediss://` instead of the web PKI roots.
    pub tls_ca: Option<&'a Path>,
    /// Bound of a connection attempt and of every command's answer.
    pub timeout: Duration,
}

/// The Redis settings cannot work. Never carries a password.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum RedisSetupError {
    /// A URL does not parse, or carries an option this build refuses.
    #[error("{key} {shown}: {reason}")]
    Url {
        /// Config key of the URL.
        key: &'static str,
        /// The URL, redacted.
        shown: String,
        /// What is wrong.
        reason: String,
    },
    /// The CA file cannot be read or holds no usable certificate.
    #[error("{key} {path}: {reason}")]
    TlsCa {
        /// Config key of the CA file.
        key: &'static str,
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The settings contradict each other.
    #[error("{reason}")]
    Inconsistent {
        /// Config key at fault.
        key: &'static str,
        /// What is wrong (names the keys involved).
        reason: String,
    },
}

impl RedisSetupError {
    /// The config key at fault.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            RedisSetupError::Url { key, .. }
            | RedisSetupError::TlsCa { key, .. }
            | RedisSetupError::Inconsistent { key, .. } => key,
        }
    }

    /// What is wrong, without the key.
    pub(crate) fn reason(&self) -> String {
        match self {
            RedisSetupError::Url { shown, reason, .. } => format!("{shown}: {reason}"),
            RedisSetupError::TlsCa { path, reason, .. } => format!("{path}: {reason}"),
            RedisSetupError::Inconsistent { reason, .. } => reason.clone(),
        }
    }
}

/// Parsed Redis settings; [`RedisClient::connect`] makes connections.
#[derive(Clone)]
pub(crate) struct RedisClient {
    kind: ClientKind,
    shown: String,
    timeout: Duration,
}

#[derive(Clone)]
enum ClientKind {
    Single(redis::Client),
    Cluster(ClusterClient),
}

impl std::fmt::Debug for RedisClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // redis' own Debug output would show the password.
        f.debug_struct("RedisClient")
            .field("target", &self.shown)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisClient {
    /// Check `settings` (URL syntax, TLS options, CA file) without connecting.
    pub(crate) fn new(settings: RedisSettings<'_>) -> Result<Self, RedisSetupError> {
        let ca = match settings.tls_ca {
            Some(path) => Some(read_ca(settings.tls_ca_key, path)?),
            None => None,
        };
        let certs = ca.map(|pem| TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        });
        let nodes = match settings.target {
            RedisTarget::Single(url) => {
                let shown = url.redacted();
                let info = check_url(settings, settings.url_key, url, &shown, certs.is_some())?;
                // redis' URL errors are fixed texts, they never quote the URL.
                let client = match certs {
                    Some(certs) => redis::Client::build_with_tls(info, certs),
                    None => redis::Client::open(info),
                }
                .map_err(|e| url_error(settings.url_key, &shown, e.to_string()))?;
                return Ok(Self {
                    kind: ClientKind::Single(client),
                    shown,
                    timeout: settings.timeout,
                });
            }
            RedisTarget::Cluster(nodes) => nodes,
        };
        let key = settings.cluster_nodes_key;
        if nodes.is_empty() {
            return Err(RedisSetupError::Inconsistent {
                key,
                reason: format!("{key}: a Redis Cluster needs at least one seed node"),
            });
        }
        let mut infos = Vec::with_capacity(nodes.len());
        let mut shown = Vec::with_capacity(nodes.len());
        for node in nodes {
            let node_shown = node.redacted();
            if matches!(node.scheme(), "redis+unix" | "unix") {
                return Err(url_error(
                    key,
                    &node_shown,
                    "Cluster nodes are host:port addresses, not unix sockets",
                ));
            }
            infos.push(check_url(
                settings,
                key,
                node,
                &node_shown,
                certs.is_some(),
            )?);
            shown.push(node_shown);
        }
        let shown = format!("cluster [{}]", shown.join(", "));
        let mut builder = ClusterClientBuilder::new(infos)
            .connection_timeout(settings.timeout)
            .response_timeout(settings.timeout)
            .tcp_settings(tcp_settings(settings.timeout))
            // Our callers bound every call themselves and retry on the next one.
            .retries(1)
            .min_retry_wait(10)
            .max_retry_wait(100);
        if let Some(certs) = certs {
            builder = builder.certs(certs);
        }
        let client = builder.build().map_err(|e| RedisSetupError::Inconsistent {
            key,
            reason: format!("{key}: {}", e.detail().unwrap_or("invalid")),
        })?;
        Ok(Self {
            kind: ClientKind::Cluster(client),
            shown,
            timeout: settings.timeout,
        })
    }

    /// The target without credentials, for logs and errors.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// True in Cluster mode.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.kind, ClientKind::Cluster(_))
    }

    /// Connect (bounded by the settings' timeout for each node). The result
    /// reconnects by itself after a connection loss: a call that fails on a
    /// dead connection makes the next call use a fresh one.
    pub(crate) async fn connect(&self) -> Result<RedisConn, RedisError> {
        match &self.kind {
            ClientKind::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_tcp_settings(tcp_settings(self.timeout))
                    // No backoff loop inside the manager (its first delay is a
                    // fixed 1-2 s, long after our timeout): a failed reconnect
                    // is retried by the next call instead.
                    .set_number_of_retries(0);
                let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
                Ok(RedisConn::Single(conn))
            }
            ClientKind::Cluster(client) => {
                Ok(RedisConn::Cluster(client.get_async_connection().await?))
            }
        }
    }
}

/// A multiplexed connection to one node or to a cluster; clone it freely,
/// every clone shares the same sockets.
#[derive(Clone)]
pub(crate) enum RedisConn {
    /// One node.
    Single(ConnectionManager),
    /// A Redis Cluster: commands are routed by their key's slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

/// A Redis error as text for logs and error messages: names a certificate
/// problem plainly, and never contains credentials (redis' error texts do
/// not quote URLs or passwords).
pub(crate) fn describe_error(e: &RedisError) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("invalid peer certificate")
        || lower.contains("unknownissuer")
        || lower.contains("certificate")
    {
        format!("TLS certificate not accepted (check the CA file and the host name): {text}")
    } else {
        text
    }
}

fn tcp_settings(timeout: Duration) -> TcpSettings {
    let tcp = TcpSettings::default()
        // One small request per round trip: Nagle would delay it.
        .set_nodelay(true)
        // Notice a silently dead peer (failover, dropped NAT state) on an
        // idle connection.
        .set_keepalive(
            TcpKeepalive::new()
                .with_time(Duration::from_secs(15))
                .with_interval(Duration::from_secs(5)),
        );
    // ... and on a busy one: unacknowledged data for this long drops the
    // connection, which makes it reconnect.
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let tcp = tcp.set_user_timeout(Duration::from_secs(5).max(timeout * 4));
    #[cfg(not(any(target_os = "android", target_os = "fuchsia", target_os = "linux")))]
    let _ = timeout;
    tcp
}

fn url_error(key: &'static str, shown: &str, reason: impl Into<String>) -> RedisSetupError {
    RedisSetupError::Url {
        key,
        shown: shown.to_owned(),
        reason: reason.into(),
    }
}

/// Check one URL and refuse what this build must not do.
fn check_url(
    settings: RedisSettings<'_>,
    key: &'static str,
    url: &SecretUrl,
    shown: &str,
    have_ca: bool,
) -> Result<redis::ConnectionInfo, RedisSetupError> {
    if url.expose_url().fragment().is_some() {
        // `#insecure` would switch certificate checks off.
        return Err(url_error(
            key,
            shown,
            "URL fragments (such as #insecure) are not accepted: TLS is always verified",
        ));
    }
    let tls = url.scheme() == "rediss";
    if have_ca && !tls {
        return Err(RedisSetupError::Inconsistent {
            key: settings.tls_ca_key,
            reason: format!(
                "{} is set, but {key} {shown} is not a rediss:// URL",
                settings.tls_ca_key
            ),
        });
    }
    url.expose_str()
        .into_connection_info()
        .map_err(|e| url_error(key, shown, e.to_string()))
}

/// Read a PEM file of CA certificates; at least one must be there.
fn read_ca(key: &'static str, path: &Path) -> Result<Vec<u8>, RedisSetupError> {
    let err = |reason: String| RedisSetupError::TlsCa {
        key,
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| err(format!("not PEM: {e}")))?;
        webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| err(format!("certificate {count} is not usable as a CA: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(err("holds no CERTIFICATE block".to_owned()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::redact_url;

    #[test]
    fn redact_hides_userinfo_and_password_params() {
        for (url, hidden) in [
            ("redis://alice:s3cret@cache.internal:6380/2", "s3cret"),
            ("redis://alice:s3cret@cache.internal:6380/2", "alice"),
            ("rediss://:s3cret@cache.internal:6380", "s3cret"),
            ("rediss://bob@cache.internal", "bob"),
            ("redis+unix:///run/redis.sock?db=1&pass=s3cret", "s3cret"),
            (
                "redis+unix:///run/redis.sock?password=s3cret&user=carol",
                "s3cret",
            ),
            (
                "redis+unix:///run/redis.sock?password=s3cret&user=carol",
                "carol",
            ),
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains(hidden), "{url} -> {shown}");
            assert!(shown.contains("[redacted]"), "{url} -> {shown}");
        }
        let shown = redact_url("redis://alice:s3cret@cache.internal:6380/2");
        assert!(shown.contains("cache.internal:6380"), "{shown}");
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
        let unix = redact_url("redis+unix:///run/redis.sock?db=1&pass=s3cret");
        assert!(unix.contains("db=1"), "{unix}");
        assert_eq!(redact_url("not a url s3cret"), "[redacted]");
    }

    fn url(text: &str) -> SecretUrl {
        SecretUrl::parse(text).expect("a URL")
    }

    fn single(text: &str) -> RedisTarget {
        RedisTarget::Single(url(text))
    }

    fn settings(target: &RedisTarget) -> RedisSettings<'_> {
        RedisSettings {
            target,
            url_key: "dedup.redis_url",
            cluster_nodes_key: "dedup.redis_cluster_nodes",
            tls_ca_key: "dedup.redis_tls_ca",
            tls_ca: None,
            timeout: Duration::from_millis(100),
        }
    }

    #[test]
    fn setup_errors_and_debug_never_show_credentials() {
        let good = single("rediss://alice:s3cret@127.0.0.1:1/0");
        let client = RedisClient::new(settings(&good)).expect("valid");
        assert!(!format!("{client:?}").contains("s3cret"));
        assert!(!client.shown().contains("alice"));
        for bad in [
            "nonsense://:s3cret@host",
            "redis://:s3cret@host/not-a-db",
            "rediss://:s3cret@host/#insecure",
        ] {
            let bad = single(bad);
            let err = RedisClient::new(settings(&bad)).expect_err("bad URL");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        let nodes = RedisTarget::Cluster(vec![
            url("redis://:s3cret@127.0.0.1:1"),
            url("redis://:other@127.0.0.1:2"),
        ]);
        let err = RedisClient::new(settings(&nodes)).expect_err("mixed passwords");
        assert!(
            !err.to_string().contains("s3cret") && !err.to_string().contains("other"),
            "{err}"
        );
    }

    #[test]
    fn insecure_fragment_is_refused() {
        let target = single("rediss://127.0.0.1:1/#insecure");
        let err = RedisClient::new(settings(&target)).expect_err("insecure");
        assert!(err.to_string().contains("always verified"), "{err}");
    }

    #[test]
    fn cluster_mode_from_nodes() {
        let nodes = RedisTarget::Cluster(vec![
            url("redis://127.0.0.1:7001"),
            url("redis://127.0.0.1:7002"),
        ]);
        let client = RedisClient::new(settings(&nodes)).expect("valid");
        assert!(client.is_cluster());
        assert!(client.shown().contains("7002"), "{}", client.shown());
        let err = RedisClient::new(settings(&RedisTarget::Cluster(Vec::new())))
            .expect_err("no seed node");
        assert_eq!(err.key(), "dedup.redis_cluster_nodes");
        let unix = RedisTarget::Cluster(vec![url("redis+unix:///run/redis.sock")]);
        assert!(RedisClient::new(settings(&unix)).is_err());
    }

    #[test]
    fn ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "not pem").expect("write");
        let target = single("rediss://127.0.0.1:1");
        let mut s = settings(&target);
        s.tls_ca = Some(&file);
        let err = RedisClient::new(s).expect_err("no cert");
        assert!(err.to_string().contains("dedup.redis_tls_ca"), "{err}");
        let missing = dir.path().join("missing.pem");
        s.tls_ca = Some(&missing);
        assert!(RedisClient::new(s).is_err());
    }
}
