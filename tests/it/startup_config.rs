//! A library user changes a loaded `Config` (its fields are public) into an
//! invalid one: building the endpoint or binding the server refuses it with
//! an error naming the key, and nothing panics later.

use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::{
    Config, ConfigError, DedupStoreConfig, MemoryDedupConfig, ValueSource,
};
use alexa_endpoint::dedup::MemoryStore;
use alexa_endpoint::{Endpoint, ServeError, Server, Skill, StartupError};

use crate::support::helpers::*;

/// A change that makes a valid config invalid.
type Change = fn(&mut Config);

/// Invalid changes to a valid config, and the key each error must name.
fn invalid_changes() -> Vec<(&'static str, Change)> {
    vec![
        ("dedup.ttl_secs", |c: &mut Config| {
            c.dedup.ttl = Duration::from_secs(u64::MAX)
        }),
        ("dedup.memory_max_entries", |c: &mut Config| {
            c.dedup.store = DedupStoreConfig::Memory(MemoryDedupConfig {
                max_entries: u64::MAX,
            })
        }),
        ("server.max_in_flight", |c: &mut Config| {
            c.server.max_in_flight = 0
        }),
        ("server.body_limit_bytes", |c: &mut Config| {
            c.server.body_limit_bytes = usize::MAX
        }),
        ("server.path", |c: &mut Config| {
            c.server.path = "alexa".into()
        }),
        ("handler.deadline_ms", |c: &mut Config| {
            c.handler.deadline = Duration::ZERO
        }),
        // With verification on, the verifier is built from these: they used
        // to panic there (a semaphore of more permits than tokio allows, a
        // cache TTL over 1000 years) before the config was looked at.
        (
            "verification.cert_download_concurrency",
            |c: &mut Config| {
                verifying(c);
                c.verification.cert_download_concurrency = usize::MAX;
            },
        ),
        ("verification.cert_failure_ttl_secs", |c: &mut Config| {
            verifying(c);
            c.verification.cert_failure_ttl = Duration::from_secs(u64::MAX);
        }),
        ("verification.timestamp_tolerance_secs", |c: &mut Config| {
            c.verification.timestamp_tolerance = Duration::from_secs(u64::MAX)
        }),
    ]
}

/// Verification on, for one skill.
fn verifying(c: &mut Config) {
    c.verification.enabled = true;
    c.verification.skill_ids = vec!["amzn1.ask.skill.test".into()];
}

/// `err` names `key` and says its value was set in code, not loaded.
fn names_key(err: &StartupError, key: &str) {
    match err {
        StartupError::Config(ConfigError::Invalid {
            key: named,
            source_of_value,
            ..
        }) => {
            assert_eq!(named, key, "{err}");
            assert_eq!(*source_of_value, ValueSource::Code, "{err}");
        }
        other => panic!("want a config error naming {key}, got {other}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("`{key}` (set in code after loading)")),
        "{shown}"
    );
}

#[tokio::test]
async fn endpoint_new_refuses_a_config_made_invalid_in_code() {
    init_logs();
    for (key, change) in invalid_changes() {
        let mut cfg = test_config();
        change(&mut cfg);
        let err = Endpoint::new(Skill::builder().build(), &cfg)
            .err()
            .unwrap_or_else(|| panic!("{key}: accepted"));
        names_key(&err, key);

        let err = Endpoint::with_parts(
            Skill::builder().build(),
            &cfg,
            None,
            Arc::new(MemoryStore::new(10)),
        )
        .err()
        .unwrap_or_else(|| panic!("{key}: accepted by with_parts"));
        names_key(&err, key);

        let err = Server::bind(Skill::builder().build(), cfg)
            .await
            .err()
            .unwrap_or_else(|| panic!("{key}: bound"));
        match err {
            ServeError::Startup(e) => names_key(&e, key),
            other => panic!("{key}: want a start-up error, got {other}"),
        }
    }
}

/// The server takes its listener limits from the config it is bound with,
/// which may differ from the one the endpoint was built with.
#[tokio::test]
async fn bind_endpoint_refuses_an_invalid_config() {
    init_logs();
    let cfg = test_config();
    let endpoint = Endpoint::new(Skill::builder().build(), &cfg).unwrap();
    let mut changed = cfg.clone();
    changed.server.max_connections = 0;
    let err = Server::bind_endpoint(endpoint.clone(), changed)
        .await
        .err()
        .expect("an invalid config is refused");
    match err {
        ServeError::Startup(e) => names_key(&e, "server.max_connections"),
        other => panic!("want a start-up error, got {other}"),
    }
    // The valid one still binds.
    Server::bind_endpoint(endpoint, cfg).await.unwrap();
}

/// A key keeps the source it was loaded from until code changes it.
#[test]
fn source_of_tells_loaded_values_from_values_set_in_code() {
    let env = [
        ("ALEXA_ENDPOINT_SERVER__MAX_IN_FLIGHT", "77"),
        ("ALEXA_ENDPOINT_VERIFICATION__ALLOW_ANY_SKILL", "true"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let mut cfg = Config::load_with_env(None, env).expect("valid config");
    let var = ValueSource::Env("ALEXA_ENDPOINT_SERVER__MAX_IN_FLIGHT".into());
    assert_eq!(cfg.source_of("server.max_in_flight"), var);
    assert_eq!(cfg.source_of("server.path"), ValueSource::Default);

    cfg.server.path = "/elsewhere".into();
    assert_eq!(cfg.source_of("server.path"), ValueSource::Code);
    assert_eq!(cfg.source_of("server.max_in_flight"), var);
    cfg.server.max_in_flight = 78;
    assert_eq!(cfg.source_of("server.max_in_flight"), ValueSource::Code);
}
