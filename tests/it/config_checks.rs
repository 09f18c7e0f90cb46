//! Configuration errors as an operator meets them: `check-config` makes
//! every check `serve` makes short of binding and connecting, each error is
//! printed once and names the key and where its value came from, numbers
//! are bounded, relative paths follow the config file, secrets are redacted.

use std::path::Path;
use std::time::Duration;

use alexa_endpoint::config::{Config, ConfigError, ValueSource};
use rcgen::{CertificateParams, KeyPair};

use crate::support::helpers::*;

/// A directory holding a config file and the PEM files it names.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let other_key = KeyPair::generate().unwrap();
        std::fs::create_dir(dir.path().join("tls")).unwrap();
        std::fs::write(dir.path().join("tls/cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("tls/key.pem"), key.serialize_pem()).unwrap();
        std::fs::write(
            dir.path().join("tls/other-key.pem"),
            other_key.serialize_pem(),
        )
        .unwrap();
        std::fs::write(dir.path().join("garbage.pem"), "not a PEM file\n").unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `toml` as `config.toml` in the directory; its path.
    fn config(&self, toml: &str) -> std::path::PathBuf {
        let file = self.path().join("config.toml");
        std::fs::write(
            &file,
            format!("[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n{toml}"),
        )
        .unwrap();
        file
    }
}

const NO_VERIFY: &str = "[verification]\nenabled = false\n";
const VERIFY_ANY: &str = "[verification]\nenabled = true\nallow_any_skill = true\n";

/// Run `args` from the filesystem root (relative paths must not depend on
/// the working directory); exit status, stdout, stderr.
async fn run(
    args: &[&str],
    file: &Path,
    env: &[(&str, &str)],
    cwd: &Path,
) -> (bool, String, String) {
    let mut cmd = command();
    cmd.args(args).arg("--config").arg(file).current_dir(cwd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the command ends (serve must refuse before it listens)")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of `stderr` that are not log lines.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("alexa-endpoint:"))
        .collect()
}

#[tokio::test]
async fn check_config_and_serve_refuse_each_file_level_error_naming_the_key() {
    let files = Files::new();
    let s3 = "https://s3.amazonaws.com/echo.api/echo-api-cert-7.pem";
    let cases: Vec<(&str, String, &str)> = vec![
        ("missing TLS cert", format!("{NO_VERIFY}[server.tls]\ncert = \"tls/missing.pem\"\nkey = \"tls/key.pem\""), "server.tls.cert"),
        ("TLS cert not PEM", format!("{NO_VERIFY}[server.tls]\ncert = \"garbage.pem\"\nkey = \"tls/key.pem\""), "server.tls.cert"),
        ("missing TLS key", format!("{NO_VERIFY}[server.tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/missing.pem\""), "server.tls.key"),
        ("TLS key of another cert", format!("{NO_VERIFY}[server.tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/other-key.pem\""), "server.tls.key"),
        ("missing extra_roots", format!("{VERIFY_ANY}extra_roots = \"missing.pem\""), "verification.extra_roots"),
        ("extra_roots not PEM", format!("{VERIFY_ANY}extra_roots = \"garbage.pem\""), "verification.extra_roots"),
        ("missing preloaded cert", format!("{VERIFY_ANY}[verification.preloaded_certs]\n\"{s3}\" = \"missing.pem\""), "verification.preloaded_certs"),
        ("bad preloaded cert URL", format!("{VERIFY_ANY}[verification.preloaded_certs]\n\"https://evil.example/echo.api/c.pem\" = \"tls/cert.pem\""), "verification.preloaded_certs"),
        ("missing dedup CA", format!("{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_url = \"rediss://127.0.0.1:6380\"\nredis_tls_ca = \"missing.pem\""), "dedup.redis_tls_ca"),
        ("dedup CA not PEM", format!("{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_url = \"rediss://127.0.0.1:6380\"\nredis_tls_ca = \"garbage.pem\""), "dedup.redis_tls_ca"),
        ("dedup cluster CA not PEM", format!("{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_cluster_nodes = [\"rediss://127.0.0.1:7001\"]\nredis_tls_ca = \"garbage.pem\""), "dedup.redis_tls_ca"),
        ("missing queue CA", format!("{NO_VERIFY}[handler]\nkind = \"queue\"\n[handler.queue]\nbackend = \"redis-stream\"\nurl = \"rediss://127.0.0.1:6380\"\nstream = \"s\"\nredis_tls_ca = \"missing.pem\""), "handler.queue.redis_tls_ca"),
    ];
    for (what, toml, key) in cases {
        let file = files.config(&toml);
        for subcommand in ["check-config", "serve"] {
            let (ok, stdout, stderr) = run(&[subcommand], &file, &[], Path::new("/")).await;
            assert!(!ok, "{subcommand} accepted {what}:\n{stdout}");
            let errors = error_lines(&stderr);
            assert_eq!(errors.len(), 1, "{subcommand}, {what}: {stderr}");
            assert!(
                errors[0].contains(&format!("`{key}`")),
                "{subcommand}, {what}: {stderr}"
            );
            assert!(
                errors[0].contains(&file.display().to_string()),
                "{subcommand}, {what}: {stderr}"
            );
            assert!(stdout.is_empty(), "{subcommand}, {what}: {stdout}");
        }
    }
}

/// `serve` starts with a preloaded chain that is not valid now (requests
/// using it are rejected): `check-config` accepts it too, with a warning.
#[tokio::test]
async fn an_invalid_preloaded_chain_is_a_warning_in_check_config_as_in_serve() {
    let files = Files::new();
    let s3 = "https://s3.amazonaws.com/echo.api/echo-api-cert-7.pem";
    let file = files.config(&format!(
        "{VERIFY_ANY}[verification.preloaded_certs]\n\"{s3}\" = \"garbage.pem\""
    ));
    let (ok, stdout, stderr) = run(&["check-config"], &file, &[], Path::new("/")).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("garbage.pem"), "{stdout}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("`verification.preloaded_certs`"),
        "{stderr}"
    );
    assert!(warnings[0].contains("not valid now"), "{stderr}");
}

#[tokio::test]
async fn relative_paths_follow_the_config_file_and_env_paths_the_working_directory() {
    let files = Files::new();
    let file = files.config(&format!(
        "{NO_VERIFY}[server.tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/key.pem\""
    ));
    let (ok, stdout, stderr) = run(&["check-config"], &file, &[], Path::new("/")).await;
    assert!(ok, "{stderr}");
    let v: toml::Value = toml::from_str(&stdout).unwrap();
    let cert = files.path().join("tls/cert.pem");
    assert_eq!(
        v["server"]["tls"]["cert"].as_str(),
        Some(cert.to_str().unwrap())
    );

    // From the environment, a relative path is relative to the working directory.
    let env = [("ALEXA_ENDPOINT_SERVER__TLS__KEY", "tls/key.pem")];
    let (ok, stdout, stderr) = run(&["check-config"], &file, &env, files.path()).await;
    assert!(ok, "{stderr}");
    let v: toml::Value = toml::from_str(&stdout).unwrap();
    assert_eq!(v["server"]["tls"]["key"].as_str(), Some("tls/key.pem"));
    let (ok, _, stderr) = run(&["check-config"], &file, &env, Path::new("/")).await;
    assert!(!ok);
    assert!(stderr.contains("`server.tls.key`"), "{stderr}");
    assert!(
        stderr.contains("ALEXA_ENDPOINT_SERVER__TLS__KEY"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_error_is_printed_once_with_its_source_and_the_valid_values() {
    let files = Files::new();
    let file = files.config(&format!("{NO_VERIFY}[handler]\nkind = \"logg\""));
    for subcommand in ["check-config", "serve"] {
        let (ok, _, stderr) = run(&[subcommand], &file, &[], Path::new("/")).await;
        assert!(!ok);
        assert_eq!(stderr.matches("handler.kind").count(), 1, "{stderr}");
        assert_eq!(stderr.matches("logg").count(), 1, "{stderr}");
        assert!(
            stderr.contains("expected one of: log, webhook, list-sync, queue"),
            "{stderr}"
        );
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        assert!(!stderr.contains("variant constructor"), "{stderr}");
    }
    let file = files.config(NO_VERIFY);
    let env = [("ALEXA_ENDPOINT_DEDUP__TTL_SECS", "9223372036854775807")];
    for subcommand in ["check-config", "serve"] {
        let (ok, _, stderr) = run(&[subcommand], &file, &env, Path::new("/")).await;
        assert!(!ok);
        assert_eq!(error_lines(&stderr).len(), 1, "{stderr}");
        assert_eq!(stderr.matches("dedup.ttl_secs").count(), 1, "{stderr}");
        assert!(
            stderr.contains("set by environment variable ALEXA_ENDPOINT_DEDUP__TTL_SECS"),
            "{stderr}"
        );
        assert!(stderr.contains("2592000 (30 days)"), "{stderr}");
    }
}

#[tokio::test]
async fn check_config_redacts_secrets_in_every_url_query() {
    let files = Files::new();
    let file = files.config(&format!(
        "{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_url = \"redis+unix:///run/redis.sock?db=1&pass=s3cret\"\n\
         [handler]\nkind = \"webhook\"\n[handler.webhook]\nurl = \"https://u:s3cretB@hook.example/in?Token=s3cretC&x=1\"\n\
         [handler.queue]\nbackend = \"redis-stream\"\nurl = \"redis://127.0.0.1:6379/0?password=s3cretD\"\nstream = \"s\""
    ));
    let (ok, stdout, stderr) = run(&["check-config"], &file, &[], Path::new("/")).await;
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
    assert!(
        stdout.contains("redis+unix:///run/redis.sock?db=1&pass=[redacted]"),
        "{stdout}"
    );
    assert!(stdout.contains("x=1"), "{stdout}");
}

#[test]
fn ttl_beyond_30_days_is_refused_naming_the_key() {
    let err = Config::from_toml(
        "[verification]\nenabled = false\n[dedup]\nttl_secs = 9223372036854775807",
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { key, source_of_value: ValueSource::Text, reason }
        if key == "dedup.ttl_secs" && reason.contains("2592000")),
        "{err}"
    );
    let err = Config::load_with_env(
        None,
        [
            (
                "ALEXA_ENDPOINT_VERIFICATION__ENABLED".to_owned(),
                "false".to_owned(),
            ),
            (
                "ALEXA_ENDPOINT_DEDUP__TTL_SECS".to_owned(),
                "2592001".to_owned(),
            ),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { key, source_of_value: ValueSource::Env(var), .. }
        if key == "dedup.ttl_secs" && var == "ALEXA_ENDPOINT_DEDUP__TTL_SECS"),
        "{err}"
    );
    let ok =
        Config::from_toml("[verification]\nenabled = false\n[dedup]\nttl_secs = 2592000").unwrap();
    assert_eq!(ok.dedup.ttl, Duration::from_secs(2_592_000));
}

/// Every integer key, its section preamble, and whether 0 is allowed.
const NUMBERS: &[(&str, &str)] = &[
    ("server.body_limit_bytes", ""),
    ("server.shutdown_grace_secs", ""),
    ("server.header_read_timeout_ms", ""),
    ("server.body_read_timeout_ms", ""),
    ("server.idle_timeout_secs", ""),
    ("server.max_connections", ""),
    ("server.max_header_bytes", ""),
    ("server.max_in_flight", ""),
    ("verification.timestamp_tolerance_secs", ""),
    ("verification.cert_fetch_timeout_ms", ""),
    ("verification.cert_download_concurrency", ""),
    ("verification.cert_failure_ttl_secs", ""),
    ("dedup.ttl_secs", ""),
    ("dedup.memory_max_entries", ""),
    ("dedup.store_timeout_ms", ""),
    ("handler.deadline_ms", ""),
    ("alexa_api.timeout_ms", ""),
    (
        "handler.queue.max_in_flight",
        "backend = \"redis-stream\"\nurl = \"redis://h\"\nstream = \"s\"\n",
    ),
    (
        "handler.queue.maxlen",
        "backend = \"redis-stream\"\nurl = \"redis://h\"\nstream = \"s\"\n",
    ),
];

#[test]
fn every_number_has_a_maximum_and_refusals_name_the_key() {
    for (key, preamble) in NUMBERS {
        let (section, name) = key.rsplit_once('.').unwrap();
        let mut text = String::new();
        if section != "verification" {
            text.push_str("[verification]\nenabled = false\n");
        }
        text.push_str(&format!("[{section}]\n{preamble}"));
        if section == "verification" {
            text.push_str("enabled = false\n");
        }
        text.push_str(&format!("{name} = {}\n", i64::MAX));
        let err = Config::from_toml(&text).unwrap_err();
        assert_eq!(err.key(), Some(*key), "{text}: {err}");
        assert!(err.to_string().contains("must be between"), "{err}");
    }
}

#[test]
fn every_integer_of_the_defaults_is_in_the_bounds_table() {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Integer(_) => out.push(key),
                toml::Value::Table(t) => walk(&key, t, out),
                _ => {}
            }
        }
    }
    let defaults: toml::Table = alexa_endpoint::config::DEFAULT_TOML.parse().unwrap();
    let mut keys = Vec::new();
    walk("", &defaults, &mut keys);
    assert!(keys.len() >= 15, "{keys:?}");
    for key in keys {
        assert!(
            NUMBERS.iter().any(|(k, _)| *k == key),
            "{key} has no tested maximum"
        );
    }
}

#[test]
fn bad_enum_values_list_the_valid_ones() {
    for (text, key, valid) in [
        (
            "[handler]\nkind = \"logg\"",
            "handler.kind",
            "log, webhook, list-sync, queue",
        ),
        (
            "[dedup]\nbackend = \"mem\"",
            "dedup.backend",
            "memory, redis, off",
        ),
        (
            "[dedup]\non_store_error = \"drop\"",
            "dedup.on_store_error",
            "reject, process",
        ),
        ("[log]\nformat = \"xml\"", "log.format", "json, pretty"),
        (
            "[handler]\nkind = \"queue\"\n[handler.queue]\nbackend = \"kafka\"",
            "handler.queue.backend",
            "nats, amqp, redis-stream",
        ),
    ] {
        let err =
            Config::from_toml(&format!("[verification]\nenabled = false\n{text}")).unwrap_err();
        assert_eq!(err.key(), Some(key), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("expected one of: {valid}")),
            "{err}"
        );
    }
    let err = Config::from_toml("[verification]\nenabled = false\n[server]\nlisten_typo = 1")
        .unwrap_err();
    assert_eq!(err.key(), Some("server.listen_typo"), "{err}");
    assert!(err.to_string().contains("is not a known key"), "{err}");
}

#[test]
fn the_webhook_secret_is_decoded_once_at_load() {
    let base = "[verification]\nenabled = false\n[handler]\nkind = \"webhook\"\n[handler.webhook]\nurl = \"http://127.0.0.1:9/h\"\n";
    let err = Config::from_toml(&format!("{base}secret = \"whsec_not base64!\"")).unwrap_err();
    assert_eq!(err.key(), Some("handler.webhook.secret"), "{err}");
    assert!(!err.to_string().contains("not base64!"), "{err}");
    let err = Config::from_toml(&base.replace("http://", "ftp://")).unwrap_err();
    assert_eq!(err.key(), Some("handler.webhook.url"), "{err}");
    let cfg = Config::from_toml(&format!("{base}secret = \"whsec_c2VjcmV0\"")).unwrap();
    let secret = cfg.handler.webhook.unwrap().secret.unwrap();
    assert_eq!(secret.expose_key(), b"secret");
    assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
}
