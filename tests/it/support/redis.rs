//! Redis for integration tests: the machine's shared instance (`REDIS_URL`,
//! default `redis://127.0.0.1:6379`) and private `redis-server` processes
//! that a fault test can kill, pause and restart.
//!
//! When Redis (or the `redis-server` binary) is missing, a test is skipped
//! with a printed reason, unless `CI` is set: then it fails, so that CI can
//! never go green without having run the Redis tests.

use std::io::Write;
use std::net::TcpListener as StdTcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use alexa_endpoint::config::{DedupBackend, DedupConfig, OnStoreError};
use alexa_endpoint::dedup::new_owner_token;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

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
        backend: DedupBackend::Redis,
        ttl_secs: 60,
        memory_max_entries: 1000,
        redis_url: SecretString::from(url.to_owned()),
        key_prefix: unique_prefix(),
        store_timeout_ms,
        on_store_error: OnStoreError::Reject,
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

/// A private `redis-server` (no persistence) on its own port, killed when
/// dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Start a server on a free port, or skip (`None`; fail under CI) when
    /// there is no `redis-server` binary.
    pub async fn start() -> Option<Self> {
        Self::start_on(free_port()).await
    }

    /// Start a server on `port` (see [`RedisServer::start`]).
    pub async fn start_on(port: u16) -> Option<Self> {
        if which_redis_server().is_none() {
            skip_or_fail("redis-server is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let mut server = Self {
            port,
            child: None,
            dir,
        };
        server.spawn().await;
        Some(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        self.spawn().await;
    }

    /// SIGSTOP the server: connections stay open but nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT a paused server.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .expect("redis-server is running");
        let status = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} {pid} failed");
    }

    /// Spawn on `self.port` and wait (bounded) until it answers PING.
    async fn spawn(&mut self) {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server");
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if answers_ping(self.port).await {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "redis-server on port {} exited before answering PING: {status}",
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {START_DEADLINE:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.child = Some(child);
    }
}

fn which_redis_server() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}
