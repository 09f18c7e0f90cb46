//! Private `nats-server -js` processes for fault tests: their own loopback
//! port and their own store directory (file storage), so that a test can
//! kill the broker and start it again on the same port with its streams
//! (and their messages) intact, or pause it (SIGSTOP) and let it go on.
//!
//! Without a `nats-server` binary a test is skipped with a printed reason,
//! unless `CI` is set: then it fails (`.ci/run` installs it).

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use async_nats::jetstream;
use tokio::process::{Child, Command};

use super::helpers::{send_signal, wait_until_answering};
use super::redis::{free_port, in_ci, PORT_ATTEMPTS};

/// How long a (re)started server gets until JetStream answers.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A private `nats-server -js` on its own port and store, killed when dropped.
pub struct NatsServer {
    port: u16,
    /// Holds `store/` (JetStream's files) and `nats-server.log`.
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    /// Start a server on a free port and wait until JetStream answers; `None`
    /// (skip; fail under CI) when there is no `nats-server` binary.
    pub async fn start() -> Option<Self> {
        if std::process::Command::new("nats-server")
            .arg("--version")
            .output()
            .is_err()
        {
            let reason = "nats-server is not installed";
            if in_ci() {
                panic!(
                    "{reason} (CI is set: the broker tests must run; see scripts/ensure-nats.sh)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {reason} (install it with scripts/ensure-nats.sh)"
            );
            return None;
        }
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let mut server = Self {
                port: free_port(),
                dir: tempfile::tempdir().expect("temp dir for nats-server"),
                child: None,
            };
            match server.spawn().await {
                Ok(()) => return Some(server),
                Err(e) => last = e,
            }
        }
        panic!("nats-server did not start in {PORT_ATTEMPTS} attempts: {last}");
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A JetStream context on a fresh client connection.
    pub async fn jetstream(&self) -> jetstream::Context {
        let client = async_nats::connect(self.url())
            .await
            .expect("connect to the private nats-server");
        jetstream::new(client)
    }

    /// SIGKILL the server (a crash: no goodbye to clients) and reap it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill nats-server");
        }
    }

    /// SIGSTOP the server: connections stay open, nothing is answered, and
    /// what clients send waits in the socket buffers.
    pub fn pause(&self) {
        send_signal(self.running(), "-STOP");
    }

    /// SIGCONT a paused server: it reads and handles the backlog.
    pub fn resume(&self) {
        send_signal(self.running(), "-CONT");
    }

    fn running(&self) -> &Child {
        self.child.as_ref().expect("nats-server is running")
    }

    /// Start the server again on the same port and store; returns once
    /// JetStream answers (the streams are recovered by then).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await.unwrap_or_else(|e| panic!("{e}"));
    }

    /// Spawn on `self.port` and wait (bounded) until JetStream answers;
    /// `Err` when the process exited first (port taken, ...).
    async fn spawn(&mut self) -> Result<(), String> {
        let log_path = self.dir.path().join("nats-server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("nats-server log file");
        let mut child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(self.dir.path().join("store"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn nats-server");
        wait_until_answering(
            "nats-server",
            self.port,
            &mut child,
            &log_path,
            START_DEADLINE,
            async || self.jetstream_answers().await,
        )
        .await?;
        self.child = Some(child);
        Ok(())
    }

    /// A client connects and JetStream answers its account info request
    /// (raw: the typed client call expects fields that older servers lack).
    async fn jetstream_answers(&self) -> bool {
        let probe = async {
            let client = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_millis(500))
                .connect(self.url())
                .await
                .ok()?;
            let reply = client.request("$JS.API.INFO", "".into()).await.ok()?;
            let info: serde_json::Value = serde_json::from_slice(&reply.payload).ok()?;
            Some(info.get("error").is_none())
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), probe).await,
            Ok(Some(true))
        )
    }
}
