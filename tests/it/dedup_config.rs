//! `[dedup]` Redis keys: `redis_tls_ca`, `redis_cluster_nodes`, URL rules,
//! and redaction of every credential a Redis URL can carry.

use alexa_endpoint::config::{
    redact_url, Config, ConfigError, DedupBackend, DedupStoreConfig, RedisDedupConfig, RedisTarget,
    SecretUrl, ValueSource,
};

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
    cfg.store = DedupStoreConfig::Redis(RedisDedupConfig {
        target: RedisTarget::Single(SecretUrl::parse("rediss://:s3cretPW@cache:6380").unwrap()),
        tls_ca: Some("/nonexistent/ca.pem".into()),
        key_prefix: "p:".into(),
    });
    let Err(err) = alexa_endpoint::dedup::from_config(&cfg) else {
        panic!("a missing CA file must stop the store's set-up");
    };
    let text = err.to_string();
    assert!(text.contains("dedup.redis_tls_ca"), "{text}");
    assert_clean(&text, "store error");
}

const NO_VERIFY: &str = "[verification]\nenabled = false\n";

/// `[dedup]` is parsed into one variant per backend, carrying only that
/// backend's settings.
#[test]
fn each_backend_carries_only_its_own_settings() {
    let cfg = Config::from_toml(NO_VERIFY).unwrap();
    assert!(
        matches!(cfg.dedup.store, DedupStoreConfig::Memory(m) if m.max_entries == 1_000_000),
        "{:?}",
        cfg.dedup.store
    );

    let cfg = Config::from_toml(&format!(
        "{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_url = \"rediss://:s3cretPW@cache:6380/2\"\n\
         redis_tls_ca = \"/etc/ca.pem\"\nkey_prefix = \"p:\""
    ))
    .unwrap();
    let DedupStoreConfig::Redis(redis) = &cfg.dedup.store else {
        panic!("{:?}", cfg.dedup.store);
    };
    let RedisTarget::Single(url) = &redis.target else {
        panic!("{:?}", redis.target);
    };
    assert_eq!(url.expose_url().password(), Some("s3cretPW"));
    assert_eq!(url.expose_url().host_str(), Some("cache"));
    assert_eq!(
        redis.tls_ca.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem"))
    );
    assert_eq!(redis.key_prefix, "p:");

    let cfg = Config::from_toml(&format!(
        "{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_cluster_nodes = [\"redis://n1:7001\", \"redis://n2:7002\"]"
    ))
    .unwrap();
    let DedupStoreConfig::Redis(redis) = &cfg.dedup.store else {
        panic!("{:?}", cfg.dedup.store);
    };
    let RedisTarget::Cluster(nodes) = &redis.target else {
        panic!("{:?}", redis.target);
    };
    let ports: Vec<_> = nodes.iter().map(|n| n.expose_url().port()).collect();
    assert_eq!(ports, [Some(7001), Some(7002)]);

    let cfg = Config::from_toml(&format!("{NO_VERIFY}[dedup]\nbackend = \"off\"")).unwrap();
    assert!(matches!(cfg.dedup.store, DedupStoreConfig::Off));
    assert_eq!(cfg.dedup.store.backend(), DedupBackend::Off);
}

/// `check-config` shows the selected backend's keys, and only those: the
/// Redis URL of a memory store is not in effect, so it is not shown. What it
/// shows loads again as the same configuration.
#[test]
fn check_config_shows_the_keys_of_the_selected_backend() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "",
            &["backend = \"memory\"", "memory_max_entries = 1000000"],
            &["redis_url", "redis_cluster_nodes", "key_prefix", "redis_tls_ca"],
        ),
        (
            "backend = \"redis\"\nredis_url = \"redis://cache:6379/2\"",
            &[
                "backend = \"redis\"",
                "redis_url = \"redis://cache:6379/2\"",
                "key_prefix = \"alexa-endpoint:dedup:\"",
            ],
            &["memory_max_entries", "redis_cluster_nodes", "redis_tls_ca"],
        ),
        (
            "backend = \"redis\"\nredis_cluster_nodes = [\"rediss://n1:7001\"]\nredis_tls_ca = \"/etc/ca.pem\"",
            &[
                "redis_cluster_nodes = [\"rediss://n1:7001\"]",
                "redis_tls_ca = \"/etc/ca.pem\"",
                "key_prefix",
            ],
            &["memory_max_entries", "redis_url"],
        ),
        (
            "backend = \"off\"",
            &["backend = \"off\"", "ttl_secs = 86400", "store_timeout_ms = 500", "on_store_error = \"reject\""],
            &["memory_max_entries", "redis_url", "key_prefix"],
        ),
    ];
    for (dedup, shown, hidden) in cases {
        let cfg = Config::from_toml(&format!("{NO_VERIFY}[dedup]\n{dedup}")).unwrap();
        let text = cfg.redacted().to_string();
        let section = text
            .split("[dedup]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .unwrap_or_else(|| panic!("no [dedup] in:\n{text}"));
        for key in *shown {
            assert!(
                section.contains(key),
                "{dedup:?}: {key} missing in\n{section}"
            );
        }
        for key in *hidden {
            assert!(
                !section.contains(key),
                "{dedup:?}: {key} shown in\n{section}"
            );
        }
        let again = Config::from_toml(&text).unwrap();
        assert_eq!(again.redacted().to_string(), text, "{dedup:?}");
    }
}

/// A URL that does not parse is refused at load, by key and source, without
/// quoting it.
#[test]
fn a_redis_url_that_does_not_parse_names_the_key_and_the_variable() {
    let var = "ALEXA_ENDPOINT_DEDUP__REDIS_URL";
    let err = Config::load_with_env(
        None,
        [
            (
                "ALEXA_ENDPOINT_VERIFICATION__ENABLED".to_owned(),
                "false".to_owned(),
            ),
            (
                "ALEXA_ENDPOINT_DEDUP__BACKEND".to_owned(),
                "redis".to_owned(),
            ),
            (
                var.to_owned(),
                "redis://aclUserBob:s3cretPW@[cache:6379".to_owned(),
            ),
        ],
    )
    .unwrap_err();
    let ConfigError::Invalid {
        key,
        source_of_value,
        reason,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(key, "dedup.redis_url");
    assert_eq!(*source_of_value, ValueSource::Env(var.to_owned()));
    assert!(reason.starts_with("is not a URL"), "{reason}");
    assert_clean(&err.to_string(), "error");
    assert_clean(&format!("{err:?}"), "error Debug");

    let (key, reason) = invalid_key(&format!(
        "{NO_VERIFY}[dedup]\nbackend = \"redis\"\nredis_cluster_nodes = [\"redis://n1:7001\", \"s3cretPW\"]"
    ));
    assert_eq!(key, "dedup.redis_cluster_nodes");
    assert!(reason.starts_with("is not a URL"), "{reason}");
    assert_clean(&reason, "error");
}

/// A Cluster target built in code must name at least one node.
#[test]
fn an_empty_cluster_is_refused_by_validate() {
    let mut cfg = Config::default();
    cfg.dedup.store = DedupStoreConfig::Redis(RedisDedupConfig {
        target: RedisTarget::Cluster(Vec::new()),
        tls_ca: None,
        key_prefix: "p:".into(),
    });
    let err = cfg.validate().unwrap_err();
    assert_eq!(err.key(), Some("dedup.redis_cluster_nodes"), "{err}");
    assert!(alexa_endpoint::dedup::from_config(&cfg.dedup).is_err());
}
