//! `[handler.queue]` parsing, validation and redaction.

use alexa_endpoint::config::{Config, HandlerKind, QueueBackend};

fn parse(queue: &str) -> Result<Config, alexa_endpoint::config::ConfigError> {
    Config::from_toml(&format!(
        "[verification]\nenabled = false\n[handler]\nkind = \"queue\"\n[handler.queue]\n{queue}"
    ))
}

#[test]
fn each_backend_parses_with_its_own_keys_and_defaults() {
    let cfg =
        parse("backend = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"alexa.messages\"")
            .unwrap();
    assert_eq!(cfg.handler.kind, HandlerKind::Queue);
    let q = cfg.handler.queue.unwrap();
    assert!(q.include_token);
    assert!(q.max_in_flight > 0);
    assert!(matches!(&q.backend, QueueBackend::Nats(n) if n.subject == "alexa.messages"));

    let cfg = parse("backend = \"amqp\"\nurl = \"amqp://guest:guest@127.0.0.1:5672/%2f\"\nexchange = \"alexa\"\nrouting_key = \"messages\"\ninclude_token = false").unwrap();
    let q = cfg.handler.queue.unwrap();
    assert!(!q.include_token);
    assert!(
        matches!(&q.backend, QueueBackend::Amqp(a) if a.exchange == "alexa" && a.routing_key == "messages")
    );

    let cfg = parse("backend = \"redis-stream\"\nurl = \"redis://127.0.0.1:6379\"\nstream = \"alexa:messages\"\nmaxlen = 100000").unwrap();
    let q = cfg.handler.queue.unwrap();
    assert!(
        matches!(&q.backend, QueueBackend::RedisStream(r) if r.stream == "alexa:messages" && r.maxlen == Some(100000))
    );
}

#[test]
fn a_key_of_another_backend_or_a_typo_is_refused_by_name() {
    let err = parse(
        "backend = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"a.b\"\nexchange = \"x\"",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("exchange"), "{err}");
    let err = parse("backend = \"kafka\"\nurl = \"x\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("kafka"), "{err}");
}

#[test]
fn kind_queue_without_a_backend_and_bad_values_are_refused() {
    let err = Config::from_toml("[verification]\nenabled = false\n[handler]\nkind = \"queue\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("handler.queue.backend"), "{err}");
    let err = parse("backend = \"nats\"\nurl = \"http://127.0.0.1:4222\"\nsubject = \"a.b\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("handler.queue.url"), "{err}");
    let err = parse("backend = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"a.>\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("handler.queue.subject"), "{err}");
    let err = parse("backend = \"amqp\"\nurl = \"amqp://h\"\nexchange = \"\"\nrouting_key = \"k\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("handler.queue.exchange"), "{err}");
    let err = parse("backend = \"redis-stream\"\nurl = \"redis://h\"\nstream = \"s\"\nmaxlen = 0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("handler.queue.maxlen"), "{err}");
    let err =
        parse("backend = \"redis-stream\"\nurl = \"redis://h\"\nstream = \"s\"\nmax_in_flight = 0")
            .unwrap_err()
            .to_string();
    assert!(err.contains("handler.queue.max_in_flight"), "{err}");
    let err = parse(
        "backend = \"redis-stream\"\nurl = \"redis://h\"\nstream = \"s\"\nredis_tls_ca = \"ca.pem\"",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("handler.queue.redis_tls_ca"), "{err}");
    let cfg = parse(
        "backend = \"redis-stream\"\nurl = \"rediss://h:6380\"\nstream = \"s\"\nredis_tls_ca = \"ca.pem\"",
    )
    .unwrap();
    assert!(matches!(
        &cfg.handler.queue.unwrap().backend,
        QueueBackend::RedisStream(r) if r.redis_tls_ca.as_deref() == Some(std::path::Path::new("ca.pem"))
    ));
}

#[test]
fn broker_credentials_never_show_in_the_effective_config_or_debug() {
    for queue in [
        "backend = \"amqp\"\nurl = \"amqp://bob:Amqp-Pw-77@127.0.0.1:5672/%2f\"\nexchange = \"x\"\nrouting_key = \"k\"",
        "backend = \"nats\"\nurl = \"nats://bob:Amqp-Pw-77@127.0.0.1:4222\"\nsubject = \"a.b\"",
        "backend = \"nats\"\nurl = \"nats://Amqp-Pw-77@127.0.0.1:4222\"\nsubject = \"a.b\"",
        "backend = \"redis-stream\"\nurl = \"redis://:Amqp-Pw-77@127.0.0.1:6379\"\nstream = \"s\"",
    ] {
        let cfg = parse(queue).unwrap();
        let shown = cfg.redacted().to_string();
        assert!(!shown.contains("Amqp-Pw-77"), "{shown}");
        // The URL is still shown, with its password replaced.
        let shown_toml: toml::Value = toml::from_str(&shown).unwrap();
        let url = shown_toml["handler"]["queue"]["url"].as_str().unwrap_or_default();
        assert!(
            url.contains("[redacted]") && url.contains("127.0.0.1"),
            "{shown}"
        );
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("Amqp-Pw-77"), "{debug}");
    }
}

#[test]
fn a_url_that_does_not_parse_is_refused_by_key_without_quoting_it() {
    for url in ["amqp://bob:Amqp-Pw-77@[broker", "Amqp-Pw-77"] {
        let err = parse(&format!(
            "backend = \"amqp\"\nurl = \"{url}\"\nexchange = \"x\"\nrouting_key = \"k\""
        ))
        .unwrap_err();
        assert_eq!(err.key(), Some("handler.queue.url"), "{err}");
        let text = err.to_string();
        assert!(text.contains("is not a URL"), "{text}");
        assert!(!text.contains("Amqp-Pw-77"), "{text}");
    }
}

#[test]
fn the_backend_decides_which_keys_are_known_and_which_are_required() {
    let err = parse(
        "backend = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"a.b\"\nexchange = \"x\"",
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("handler.queue.exchange"), "{err}");
    assert!(err.to_string().contains("subject"), "{err}");
    let err = parse("backend = \"amqp\"\nurl = \"amqp://h\"\nexchange = \"x\"").unwrap_err();
    assert_eq!(err.key(), Some("handler.queue.routing_key"), "{err}");
    assert!(err.to_string().contains("is required"), "{err}");
    let err = parse("backend = \"kafka\"\nurl = \"kafka://h\"").unwrap_err();
    assert_eq!(err.key(), Some("handler.queue.backend"), "{err}");
    assert!(
        err.to_string()
            .contains("expected one of: nats, amqp, redis-stream"),
        "{err}"
    );
}
