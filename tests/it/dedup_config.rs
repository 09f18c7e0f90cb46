//! `[dedup]` Redis keys: `redis_tls_ca`, `redis_cluster_nodes`, URL rules,
//! and redaction of every credential a Redis URL can carry.

use alexa_endpoint::config::{redact_url, Config, ConfigError};

const SECRETS: &[&str] = &["s3cretPW", "aclUserBob", "unixPW"];

fn assert_clean(text: &str, what: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

fn invalid_key(toml: &str) -> (String, String) {
    match Config::from_toml(toml) {
        Err(ConfigError::Invalid { key, reason, .. }) => (key, reason),
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

#[test]
fn redact_url_hides_users_passwords_and_password_params() {
    for url in [
        "redis://aclUserBob:s3cretPW@cache:6379/0",
        "rediss://:s3cretPW@cache:6380",
        "rediss://aclUserBob@cache:6380",
        "redis+unix:///run/redis.sock?db=2&pass=unixPW",
        "redis+unix:///run/redis.sock?password=unixPW&user=aclUserBob",
    ] {
        let shown = redact_url(url);
        assert_clean(&shown, url);
        assert!(shown.contains("[redacted]"), "{url} -> {shown}");
    }
    assert!(redact_url("redis+unix:///run/redis.sock?db=2&pass=x").contains("db=2"));
    assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
}

#[test]
fn check_config_output_redacts_redis_credentials() {
    let cfg = Config::from_toml(
        r#"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_url = "redis+unix:///run/redis.sock?pass=unixPW"
redis_cluster_nodes = ["rediss://aclUserBob:s3cretPW@node1:6380", "rediss://aclUserBob:s3cretPW@node2:6380"]
"#,
    )
    .unwrap();
    let text = cfg.redacted().to_string();
    assert_clean(&text, "check-config output");
    assert!(text.contains("node2:6380"), "{text}");
    assert_clean(&format!("{cfg:?}"), "Config Debug");
}

#[test]
fn tls_ca_needs_rediss_and_a_file() {
    let (key, reason) = invalid_key(
        r#"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_url = "redis://cache:6379"
redis_tls_ca = "/etc/hosts"
"#,
    );
    assert_eq!(key, "dedup.redis_tls_ca");
    assert!(reason.contains("rediss://"), "{reason}");

    // A missing file passes the value checks and is refused by the file
    // checks `serve` and `check-config` both run.
    let cfg = Config::from_toml(
        r#"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_url = "rediss://cache:6380"
redis_tls_ca = "/nonexistent/ca.pem"
"#,
    )
    .unwrap();
    let Err(ConfigError::Invalid { key, reason, .. }) = cfg.preflight() else {
        panic!("a missing CA file must fail the preflight");
    };
    assert_eq!(key, "dedup.redis_tls_ca");
    assert!(reason.contains("/nonexistent/ca.pem"), "{reason}");
}

#[test]
fn insecure_fragment_and_foreign_schemes_are_refused() {
    let (key, reason) = invalid_key(
        r#"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_url = "rediss://:s3cretPW@cache:6380/#insecure"
"#,
    );
    assert_eq!(key, "dedup.redis_url");
    assert!(reason.contains("insecure"), "{reason}");
    assert_clean(&reason, "error");

    let (key, _) = invalid_key(
        r#"
[verification]
enabled = false
[dedup]
backend = "redis"
redis_cluster_nodes = ["http://aclUserBob:s3cretPW@node1:6380"]
"#,
    );
    assert_eq!(key, "dedup.redis_cluster_nodes");
}

/// The same checks reach a store built without `Config::validate`.
#[test]
fn store_setup_errors_name_the_key_without_secrets() {
    let mut cfg = Config::default().dedup;
    cfg.backend = alexa_endpoint::config::DedupBackend::Redis;
    cfg.redis_url = secrecy::SecretString::from("rediss://:s3cretPW@cache:6380".to_owned());
    cfg.redis_tls_ca = Some("/nonexistent/ca.pem".into());
    let Err(err) = alexa_endpoint::dedup::from_config(&cfg) else {
        panic!("a missing CA file must stop the store's set-up");
    };
    let text = err.to_string();
    assert!(text.contains("dedup.redis_tls_ca"), "{text}");
    assert_clean(&text, "store error");
}
