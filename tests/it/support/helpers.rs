//! `spawn_app` and friends: a real server on 127.0.0.1:0, talked to over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use alexa_endpoint::config::Config;
use alexa_endpoint::{Server, Skill};

use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::wait::wait_for;

/// A running test server.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The admin listener (`/healthz`, `/readyz`, `/metrics`).
    pub admin_addr: SocketAddr,
    pub client: reqwest::Client,
    pub path: String,
    shutdown: Option<oneshot::Sender<()>>,
    pub join: Option<JoinHandle<Result<(), alexa_endpoint::ServeError>>>,
}

/// Config for tests: embedded defaults, verification off, port 0, quiet.
pub fn test_config() -> Config {
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".parse().unwrap();
    cfg.server.admin_listen = "127.0.0.1:0".parse().unwrap();
    cfg.server.shutdown_grace = std::time::Duration::from_secs(5);
    cfg
}

/// Start `skill` with `config` on a random port.
pub async fn spawn_app(skill: Skill, config: Config) -> TestApp {
    init_logs();
    let path = config.server.path.clone();
    let server = Server::bind(skill, config).await.expect("server binds");
    spawn_server(server, path)
}

/// Run an already bound server.
pub fn spawn_server(server: Server, path: String) -> TestApp {
    let addr = server.local_addr().expect("bound");
    let admin_addr = server.admin_addr().expect("bound");
    let (tx, rx) = oneshot::channel::<()>();
    let join = tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        admin_addr,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        path,
        shutdown: Some(tx),
        join: Some(join),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POST raw bytes to the Alexa path.
    pub async fn post(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(&self.path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request completes")
    }

    /// POST with extra headers (signature headers).
    pub async fn post_with(&self, body: Vec<u8>, headers: &[(&str, String)]) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&self.path))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.body(body).send().await.expect("request completes")
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin_addr, path)
    }

    /// GET on the admin listener.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.admin_url(path))
            .send()
            .await
            .expect("request completes")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request completes")
    }

    /// Trigger graceful shutdown and wait for the server to stop.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            join.await.expect("server task").expect("server ran");
        }
    }

    /// Trigger shutdown without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The seed's payload, verbatim.
pub fn seed_payload() -> Vec<u8> {
    std::fs::read(repo_path("samples/message-received.json")).expect("seed sample")
}

/// A `Messaging.MessageReceived` body with its own requestId and message.
pub fn message_body(request_id: &str, message: serde_json::Value) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&seed_payload()).unwrap();
    v["request"]["requestId"] = request_id.into();
    v["request"]["message"] = message;
    serde_json::to_vec(&v).unwrap()
}

/// A unique id for this test process.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Counts handler runs.
#[derive(Clone, Default)]
pub struct Runs(Arc<AtomicUsize>);

impl Runs {
    pub fn inc(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Everything any test logged, for the no-secrets assertions.
pub fn captured_logs() -> String {
    let buf = log_buffer().lock().unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(Default::default)
}

#[derive(Clone)]
struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture every log line of the test process (JSON, debug level) in memory.
pub fn init_logs() {
    alexa_endpoint::install_crypto_provider();
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let buf = log_buffer().clone();
        let _ = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || BufWriter(buf.clone()))
            .try_init();
    });
}

pub const BIN: &str = env!("CARGO_BIN_EXE_alexa-endpoint");

pub fn command() -> Command {
    init_logs();
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("ALEXA_ENDPOINT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info").kill_on_drop(true);
    cmd
}

/// Send `signal` (`"-TERM"`, `"-STOP"`, ...) to the running `child` with kill(1).
pub fn send_signal(child: &Child, signal: &str) {
    let pid = child.id().expect("the process is running").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}

/// Wait (bounded by `within`) until the just spawned server `name` on `port`
/// `answers`; `Err` with what it wrote to `log` when it exited first (port
/// taken, bad arguments, ...).
pub async fn wait_until_answering(
    name: &str,
    port: u16,
    child: &mut Child,
    log: &std::path::Path,
    within: Duration,
    mut answers: impl AsyncFnMut() -> bool,
) -> Result<(), String> {
    let awaited = format!("{name} on port {port} answering");
    // Ok(Err(..)): the process exited, no use waiting longer.
    wait_for(&awaited, within, async || {
        if answers().await {
            return Ok(Ok(()));
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                let output = std::fs::read_to_string(log).unwrap_or_default();
                Ok(Err(format!(
                    "{name} on port {port} exited before answering: {status}; it said: {}",
                    output.trim()
                )))
            }
            _ => Err("no answer".to_owned()),
        }
    })
    .await
}

/// Serve `app` on a fresh loopback port in the background; its address.
pub async fn serve_router(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The value of `series` (`name` or `name{labels}`, exactly as exposed) in
/// the Prometheus text `exposition` of `/metrics`.
pub fn metric_value(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Wait until `server` has received at least `n` requests; panics after
/// `within`, naming `what` (the awaited event) and the count it saw last.
pub async fn wait_for_requests(
    what: &str,
    server: &wiremock::MockServer,
    n: usize,
    within: Duration,
) {
    wait_for(what, within, async || {
        match server.received_requests().await.map_or(0, |r| r.len()) {
            got if got >= n => Ok(()),
            got => Err(format!("{got} of {n} requests")),
        }
    })
    .await;
}

/// A skill whose message handler counts its runs, then takes `delay`.
pub fn counting_skill(runs: &Runs, delay: Duration) -> Skill {
    let r = runs.clone();
    Skill::builder()
        .on_message(move |_ctx, _msg| {
            r.inc();
            async move {
                tokio::time::sleep(delay).await;
                Ok(alexa_endpoint::Response::ack())
            }
        })
        .build()
}

/// A skill whose message handler signals `entered`, then waits for `release`.
pub fn blocking_skill(
    entered: &Arc<tokio::sync::Notify>,
    release: &Arc<tokio::sync::Notify>,
) -> Skill {
    let (e, r) = (entered.clone(), release.clone());
    Skill::builder()
        .on_message(move |_ctx, _msg| {
            let (e, r) = (e.clone(), r.clone());
            async move {
                e.notify_one();
                r.notified().await;
                Ok(alexa_endpoint::Response::ack())
            }
        })
        .build()
}
