//! The `serve` subcommand as a child process: one builder for every test
//! that needs the real binary listening.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alexa_endpoint::config::Config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use super::config::assert_same_values;
use super::helpers::command;

/// The log filter of a quiet process: warnings, plus the listening lines the
/// builder waits for.
const QUIET: &str = "warn,alexa_endpoint::server=info";

/// How long a process may take to log that it listens.
const START_WITHIN: Duration = Duration::from_secs(30);

/// A running `serve` process; the child is killed when this is dropped.
pub struct ServeProcess {
    /// The process.
    pub child: Child,
    /// The Alexa (HTTP) listener.
    pub addr: SocketAddr,
    /// The admin listener (`/readyz`, `/metrics`), when one was logged.
    pub admin_addr: Option<SocketAddr>,
    /// Holds the config file; removed on drop.
    pub dir: tempfile::TempDir,
    /// Every line the process wrote to stderr so far.
    pub lines: Arc<Mutex<Vec<String>>>,
}

/// Builds a [`ServeProcess`]: `ServeProcess::builder(&config).quiet().start().await`.
pub struct ServeBuilder {
    config: Config,
    log: String,
    env: Vec<(String, String)>,
    env_remove_prefixes: Vec<String>,
    expect_before_listening: Option<String>,
}

impl ServeProcess {
    /// A process serving `config`, logging at `info`. The config file holds
    /// `config` as `check-config` prints it, secrets `[redacted]`: pass a
    /// secret the test needs with [`ServeBuilder::env`]
    /// (`ALEXA_ENDPOINT_<SECTION>__<KEY>`).
    pub fn builder(config: &Config) -> ServeBuilder {
        ServeBuilder {
            config: config.clone(),
            log: "info".to_owned(),
            env: Vec::new(),
            env_remove_prefixes: Vec::new(),
            expect_before_listening: None,
        }
    }
}

impl ServeBuilder {
    /// Log only warnings and the listening lines (`RUST_LOG`).
    pub fn quiet(self) -> Self {
        self.log(QUIET)
    }

    /// Use this `RUST_LOG` filter.
    pub fn log(mut self, filter: &str) -> Self {
        self.log = filter.to_owned();
        self
    }

    /// Set an environment variable for the process: a secret the config
    /// file shows redacted, or a variable that is not ours (`OTEL_*`). Other
    /// values belong in the typed config, which must reach the process
    /// unchanged.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Do not pass on this test process's variables starting with `prefix`.
    pub fn env_remove_prefix(mut self, prefix: &str) -> Self {
        self.env_remove_prefixes.push(prefix.to_owned());
        self
    }

    /// Require a stderr line containing `needle` before the process listens.
    pub fn expect_log_before_listening(mut self, needle: &str) -> Self {
        self.expect_before_listening = Some(needle.to_owned());
        self
    }

    /// Write the config, start the process and wait (bounded) until it logs
    /// its HTTP listener; panics if it exits or takes too long.
    pub async fn start(self) -> ServeProcess {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let text = self.config.redacted().to_string();
        std::fs::write(&file, &text).unwrap();
        // A config the file cannot carry (a secret without its variable, a
        // duration finer than its key's unit) fails here, with the text,
        // rather than as a process that never listens or serves other values.
        let loaded = Config::load_with_env(Some(&file), self.env.clone())
            .unwrap_or_else(|e| panic!("the config written for serve does not load: {e}\n{text}"));
        assert_same_values(&self.config, &loaded);
        let mut cmd = command();
        for (k, _) in std::env::vars() {
            if self.env_remove_prefixes.iter().any(|p| k.starts_with(p)) {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("RUST_LOG", &self.log)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["serve", "--config"])
            .arg(&file)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut reader = BufReader::new(child.stderr.take().unwrap()).lines();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let sink = lines.clone();
        // Keep draining stderr so the child never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let needle = self.expect_before_listening;
        let mut seen = needle.is_none();
        let mut admin_addr = None;
        let addr = tokio::time::timeout(START_WITHIN, async {
            while let Some(line) = rx.recv().await {
                seen = seen || needle.as_deref().is_some_and(|n| line.contains(n));
                let Some((message, addr)) = listening_line(&line) else {
                    continue;
                };
                match message.as_str() {
                    "listening (admin)" => admin_addr = Some(addr),
                    "listening (HTTP)" => {
                        assert!(seen, "no log line containing {needle:?} before listening");
                        return addr;
                    }
                    _ => {}
                }
            }
            panic!("server exited before listening");
        })
        .await
        .expect("server starts");
        ServeProcess {
            child,
            addr,
            admin_addr,
            dir,
            lines,
        }
    }
}

/// The message and `addr` field of a log line (JSON or key=value text).
fn listening_line(line: &str) -> Option<(String, SocketAddr)> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
        let field = |k: &str| v[k].as_str().or(v["fields"][k].as_str());
        let message = field("message")?.to_owned();
        let addr = field("addr")?.parse().ok()?;
        return Some((message, addr));
    }
    let message = ["listening (HTTP)", "listening (admin)"]
        .into_iter()
        .find(|m| line.contains(m))?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))?
        .parse()
        .ok()?;
    Some((message.to_owned(), addr))
}
