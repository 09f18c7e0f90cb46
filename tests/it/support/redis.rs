//! Redis for integration tests: the machine's shared instance (`REDIS_URL`,
//! default `redis://127.0.0.1:6379`) and private `redis-server` processes
//! that a fault test can kill, pause and restart.
//!
//! When Redis (or the `redis-server` binary) is missing, a test is skipped
//! with a printed reason, unless `CI` is set: then it fails, so that CI can
//! never go green without having run the Redis tests.

use std::io::Write;
use std::net::TcpListener as StdTcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::{
    DedupConfig, DedupStoreConfig, OnStoreError, RedisDedupConfig, RedisTarget, SecretUrl,
};
use alexa_endpoint::dedup::new_owner_token;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::helpers::{send_signal, wait_until_answering};
use super::wait::wait_for;

/// How long a private server gets to answer PING after being spawned.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// URL of the shared Redis.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// `CI` is set (to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Skip the calling test with `reason`, or fail it under CI.
pub fn skip_or_fail(reason: &str) {
    if in_ci() {
        panic!("{reason} (CI is set: Redis-backed tests must run; see scripts/ensure-redis.sh)");
    }
    // Straight to stderr, past libtest's capture: a skip must be visible.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {reason} (set up Redis with scripts/ensure-redis.sh)"
    );
}

/// The shared Redis URL if it answers PING within 2 s; otherwise skip (or
/// fail under CI). Use as `let Some(url) = shared_redis().await else { return };`.
pub async fn shared_redis() -> Option<String> {
    let url = redis_url();
    let probe = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Some(url),
        Ok(Err(e)) => {
            skip_or_fail(&format!("Redis at {url} is unreachable: {e}"));
            None
        }
        Err(_) => {
            skip_or_fail(&format!("Redis at {url} did not answer PING within 2 s"));
            None
        }
    }
}

/// A key prefix no other test (or earlier run) uses.
pub fn unique_prefix() -> String {
    format!("alexa-endpoint-test:{}:", new_owner_token())
}

/// `[dedup]` for the Redis backend at `url` under a fresh prefix.
pub fn redis_config(url: &str, store_timeout_ms: u64) -> DedupConfig {
    DedupConfig {
        store: DedupStoreConfig::Redis(RedisDedupConfig {
            target: RedisTarget::Single(secret_url(url)),
            tls_ca: None,
            key_prefix: unique_prefix(),
        }),
        ttl: std::time::Duration::from_secs(60),
        store_timeout: std::time::Duration::from_millis(store_timeout_ms),
        on_store_error: OnStoreError::Reject,
    }
}

/// `url` parsed (a test's own URL: it is one).
pub fn secret_url(url: &str) -> SecretUrl {
    SecretUrl::parse(url).expect("a URL")
}

/// The Redis settings of a [`redis_config`].
pub fn redis_part(cfg: &mut DedupConfig) -> &mut RedisDedupConfig {
    match &mut cfg.store {
        DedupStoreConfig::Redis(redis) => redis,
        other => panic!("not a Redis dedup config: {other:?}"),
    }
}

/// The key prefix of a [`redis_config`].
pub fn key_prefix(cfg: &DedupConfig) -> String {
    match &cfg.store {
        DedupStoreConfig::Redis(redis) => redis.key_prefix.clone(),
        other => panic!("not a Redis dedup config: {other:?}"),
    }
}

/// A plain connection for looking at keys behind the store's back.
pub async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).expect("redis URL");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// True when something on `port` answers `PING` with `+PONG`.
pub async fn answers_ping(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut buf = [0u8; 7];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(&buf == b"+PONG\r\n")
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Ok(true))
    )
}

/// How a private server listens.
#[derive(Clone)]
enum Mode {
    /// Plain TCP.
    Plain,
    /// TLS only (`--port 0 --tls-port P`), with this certificate.
    Tls(Arc<TestTls>),
    /// Plain TCP, cluster mode (not yet joined to a cluster).
    ClusterNode,
    /// Plain TCP with an fsync'd append-only file, so a restart keeps the data.
    Persistent,
}

/// A private `redis-server` (no persistence) on its own port, killed when
/// dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    mode: Mode,
}

/// Attempts at finding a port a new server can bind (another process may
/// take a free port between our probe and the server's bind).
pub const PORT_ATTEMPTS: usize = 5;

impl RedisServer {
    /// Start a server on a free port, or skip (`None`; fail under CI) when
    /// there is no `redis-server` binary.
    pub async fn start() -> Option<Self> {
        Self::start_mode(Mode::Plain).await
    }

    /// Start a server that keeps its data across [`RedisServer::restart`]
    /// (append-only file, fsync on every write); see [`RedisServer::start`].
    pub async fn start_persistent() -> Option<Self> {
        Self::start_mode(Mode::Persistent).await
    }

    /// Start a TLS-only server with `tls`'s certificate (clients are not
    /// asked for certificates); see [`RedisServer::start`].
    pub async fn start_tls(tls: Arc<TestTls>) -> Option<Self> {
        Self::start_mode(Mode::Tls(tls)).await
    }

    async fn start_mode(mode: Mode) -> Option<Self> {
        if which_redis_server().is_none() {
            skip_or_fail("redis-server is not installed");
            return None;
        }

        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = match mode {
                // The cluster bus listens on port + 10000.
                Mode::ClusterNode => free_cluster_port(),
                _ => free_port(),
            };
            let mut server = Self {
                port,
                child: None,
                dir: tempfile::tempdir().expect("temp dir for redis-server"),
                mode: mode.clone(),
            };
            match server.spawn().await {
                Ok(()) => return Some(server),
                Err(e) if matches!(mode, Mode::Tls(_)) && built_without_tls(&e) => {
                    skip_or_fail(&format!(
                        "this redis-server is built without TLS, the rediss:// tests did NOT \
                         run (install a TLS build; Debian's redis-server is one): {e}"
                    ));
                    return None;
                }
                Err(e) => last = e,
            }
        }
        panic!("redis-server did not start in {PORT_ATTEMPTS} attempts: {last}");
    }

    /// Start a server on `port`: `Some(Err)` when it could not bind (another
    /// process took the port; pick a new one and retry), `None` as in
    /// [`RedisServer::start`].
    pub async fn try_start_on(port: u16) -> Option<Result<Self, String>> {
        if which_redis_server().is_none() {
            skip_or_fail("redis-server is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let mut server = Self {
            port,
            child: None,
            dir,
            mode: Mode::Plain,
        };
        Some(server.spawn().await.map(|()| server))
    }

    /// `redis://127.0.0.1:<port>` (`rediss://` for TLS).
    pub fn url(&self) -> String {
        match self.mode {
            Mode::Tls(_) => format!("rediss://127.0.0.1:{}", self.port),
            _ => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL the server (a crash: no goodbye to clients) and reap it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }

    /// Start the server again on the same port (empty: no persistence).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// SIGSTOP the server: connections stay open but nothing is answered.
    pub fn pause(&self) {
        send_signal(self.running(), "-STOP");
    }

    /// SIGCONT a paused server.
    pub fn resume(&self) {
        send_signal(self.running(), "-CONT");
    }

    fn running(&self) -> &Child {
        self.child.as_ref().expect("redis-server is running")
    }

    /// Spawn on `self.port` and wait (bounded) until it listens; `Err` when
    /// the process exited first (port taken, ...).
    async fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // Its output, to explain a failed start.
        let log_path = self.dir.path().join("redis-server.log");
        let log = std::fs::File::create(&log_path).expect("redis-server log file");
        cmd.stdout(log.try_clone().expect("log file handle"))
            .stderr(log);
        if matches!(self.mode, Mode::Persistent) {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        match &self.mode {
            Mode::Plain | Mode::Persistent => {
                cmd.args(["--port", &port]);
            }
            Mode::Tls(tls) => {
                cmd.args(["--port", "0", "--tls-port", &port])
                    .arg("--tls-cert-file")
                    .arg(&tls.cert)
                    .arg("--tls-key-file")
                    .arg(&tls.key)
                    .arg("--tls-ca-cert-file")
                    .arg(&tls.ca)
                    .args(["--tls-auth-clients", "no"]);
            }
            Mode::ClusterNode => {
                // A fresh node each start: forget an earlier cluster state.
                let conf = self.dir.path().join("nodes.conf");
                let _ = std::fs::remove_file(&conf);
                cmd.args(["--port", &port])
                    .args(["--cluster-enabled", "yes"])
                    .arg("--cluster-config-file")
                    .arg(&conf)
                    .args(["--cluster-node-timeout", "5000"]);
            }
        }
        let mut child = cmd.spawn().expect("spawn redis-server");
        wait_until_answering(
            "redis-server",
            self.port,
            &mut child,
            &log_path,
            START_DEADLINE,
            async || match self.mode {
                Mode::Tls(_) => TcpStream::connect(("127.0.0.1", self.port)).await.is_ok(),
                _ => answers_ping(self.port).await,
            },
        )
        .await?;
        self.child = Some(child);
        Ok(())
    }
}

/// A free port whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port <= 55_535 && StdTcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// A test CA and a server certificate signed by it, as PEM files.
pub struct TestTls {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate.
    pub cert: PathBuf,
    /// The server key.
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestTls {
    /// Make a fresh CA (`name` in its common name) and a server certificate
    /// for `names` (DNS names or IP addresses).
    pub fn new(name: &str, names: &[&str]) -> Arc<Self> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let dir = tempfile::tempdir().expect("temp dir for TLS files");
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf = leaf.signed_by(&leaf_key, &ca).unwrap();
        let path = |f: &str| dir.path().join(f);
        std::fs::write(path("ca.pem"), ca.pem()).unwrap();
        std::fs::write(path("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(path("key.pem"), leaf_key.serialize_pem()).unwrap();
        Arc::new(Self {
            ca: path("ca.pem"),
            cert: path("cert.pem"),
            key: path("key.pem"),
            _dir: dir,
        })
    }
}

/// Three private `redis-server --cluster-enabled yes` processes joined into
/// one Redis Cluster (no replicas) with `redis-cli --cluster create`.
pub struct RedisCluster {
    /// The nodes; killed when dropped.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Start and join three nodes, wait until every node reports
    /// `cluster_state:ok`; `None` (skip; fail under CI) without redis-server.
    pub async fn start() -> Option<Self> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(RedisServer::start_mode(Mode::ClusterNode).await?);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut conns = Vec::new();
        for node in &nodes {
            conns.push((node.port, raw_connection(&node.url()).await));
        }
        wait_for(
            "cluster_state:ok on every node",
            Duration::from_secs(30),
            async || {
                for (port, conn) in &mut conns {
                    let info: String = redis::cmd("CLUSTER")
                        .arg("INFO")
                        .query_async(conn)
                        .await
                        .unwrap();
                    if !info.contains("cluster_state:ok") {
                        return Err(format!("node on port {port}: {info}"));
                    }
                }
                Ok(())
            },
        )
        .await;
        Some(Self { nodes })
    }

    /// `redis://127.0.0.1:<port>` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The node serving `key`'s slot (asks the first node `CLUSTER KEYSLOT`
    /// and `CLUSTER SLOTS`).
    pub async fn node_of(&self, key: &str) -> u16 {
        let mut conn = raw_connection(&self.nodes[0].url()).await;
        let slot: i64 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let ranges: Vec<(i64, i64, (String, i64))> = {
            let raw: Vec<redis::Value> = redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query_async(&mut conn)
                .await
                .unwrap();
            raw.into_iter()
                .map(|entry| {
                    let redis::Value::Array(items) = entry else {
                        panic!("CLUSTER SLOTS entry {entry:?}")
                    };
                    let start: i64 = redis::from_redis_value(&items[0]).unwrap();
                    let end: i64 = redis::from_redis_value(&items[1]).unwrap();
                    let redis::Value::Array(node) = &items[2] else {
                        panic!("CLUSTER SLOTS node {:?}", items[2])
                    };
                    let host: String = redis::from_redis_value(&node[0]).unwrap();
                    let port: i64 = redis::from_redis_value(&node[1]).unwrap();
                    (start, end, (host, port))
                })
                .collect()
        };
        let (_, _, (_, port)) = ranges
            .into_iter()
            .find(|(start, end, _)| (*start..=*end).contains(&slot))
            .expect("slot served");
        u16::try_from(port).unwrap()
    }
}

/// A failed start's output says that this build has no TLS support.
fn built_without_tls(output: &str) -> bool {
    let output = output.to_ascii_lowercase();
    output.contains("tls") && (output.contains("not supported") || output.contains("bad directive"))
}

fn which_redis_server() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}
