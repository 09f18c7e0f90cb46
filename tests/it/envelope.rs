//! Library-level tests of `alexa_endpoint::envelope`: parsing rules, samples,
//! responses, and secret redaction.

use std::path::Path;

use alexa_endpoint::envelope::{
    parse, ConfirmationStatus, DialogState, ErrorType, ParseError, Request, RequestKind, Response,
    SessionEndedReason, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES,
};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use time::macros::datetime;

const SKILL_ID: &str = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000";

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn seed() -> Vec<u8> {
    sample("message-received.json")
}

fn parse_err(body: &[u8]) -> ParseError {
    match parse(body) {
        Ok(env) => panic!("expected an error, parsed {env:?}"),
        Err(e) => e,
    }
}

/// A MessageReceived envelope with the given `request` members merged over
/// valid defaults (a `null` value removes the member).
fn message_envelope(overrides: Value) -> Vec<u8> {
    let mut request = json!({
        "type": "Messaging.MessageReceived",
        "requestId": "r-1",
        "timestamp": "2022-10-03T16:20:50Z",
        "message": {"k": "v"},
    });
    for (k, v) in overrides.as_object().expect("object").clone() {
        if v.is_null() {
            request.as_object_mut().expect("object").remove(&k);
        } else {
            request[k] = v;
        }
    }
    serde_json::to_vec(&json!({"version": "1.0", "request": request})).expect("serialize")
}

fn with_request(request: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"version": "1.0", "request": request})).expect("serialize")
}

// ---------------------------------------------------------------- samples

#[test]
fn every_sample_parses_to_its_request_type() {
    let table = [
        ("message-received.json", "Messaging.MessageReceived"),
        (
            "message-received-with-skill-id.json",
            "Messaging.MessageReceived",
        ),
        ("launch-request.json", "LaunchRequest"),
        ("intent-request.json", "IntentRequest"),
        ("session-ended-request.json", "SessionEndedRequest"),
        ("can-fulfill-intent-request.json", "CanFulfillIntentRequest"),
        ("skill-enabled.json", "AlexaSkillEvent.SkillEnabled"),
        ("skill-disabled.json", "AlexaSkillEvent.SkillDisabled"),
        (
            "skill-permission-accepted.json",
            "AlexaSkillEvent.SkillPermissionAccepted",
        ),
        (
            "skill-permission-changed.json",
            "AlexaSkillEvent.SkillPermissionChanged",
        ),
        (
            "skill-account-linked.json",
            "AlexaSkillEvent.SkillAccountLinked",
        ),
        (
            "list-items-created.json",
            "AlexaHouseholdListEvent.ItemsCreated",
        ),
        (
            "list-items-updated.json",
            "AlexaHouseholdListEvent.ItemsUpdated",
        ),
        (
            "list-items-deleted.json",
            "AlexaHouseholdListEvent.ItemsDeleted",
        ),
        ("list-created.json", "AlexaHouseholdListEvent.ListCreated"),
        ("list-updated.json", "AlexaHouseholdListEvent.ListUpdated"),
        ("list-deleted.json", "AlexaHouseholdListEvent.ListDeleted"),
        ("exception-encountered.json", "System.ExceptionEncountered"),
        ("connections-response.json", "Connections.Response"),
    ];

    // The table covers every file in samples/, and nothing is listed twice.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("samples/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = table.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "samples/ and the test table differ");

    for (file, expected_type) in table {
        let env = parse(&sample(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(env.request.request_type(), expected_type, "{file}");
        assert_eq!(env.version, "1.0", "{file}");
        assert!(!env.request.request_id().is_empty(), "{file}");
        assert!(
            !matches!(env.request, Request::Unknown(_)),
            "{file} parsed as Unknown"
        );
        if file != "message-received.json" {
            assert_eq!(env.skill_id(), Some(SKILL_ID), "{file}");
            assert_eq!(
                env.api_endpoint(),
                Some("https://api.amazonalexa.com"),
                "{file}"
            );
            assert!(env.api_access_token().is_some(), "{file}");
        }
    }
}

#[test]
fn samples_parse_to_the_typed_variants_with_their_fields() {
    let env = parse(&sample("intent-request.json")).expect("intent");
    let Request::Intent(r) = &env.request else {
        panic!("not an intent: {env:?}")
    };
    assert_eq!(r.intent.name, "OrderPizzaIntent");
    assert_eq!(r.dialog_state, Some(DialogState::InProgress));
    assert_eq!(r.intent.confirmation_status, Some(ConfirmationStatus::None));
    assert_eq!(r.intent.slot_value("size"), Some("large"));
    let size = &r.intent.slots["size"];
    assert_eq!(size.name, "size");
    assert_eq!(
        size.confirmation_status,
        Some(ConfirmationStatus::Confirmed)
    );
    assert!(size.resolutions.is_some() && size.slot_value.is_some());
    assert_eq!(r.intent.slots["topping"].value, None);
    assert_eq!(r.locale.as_deref(), Some("en-US"));
    let session = env.session.as_ref().expect("session");
    assert!(!session.new);
    assert_eq!(
        session.attributes.as_ref().expect("attributes")["lastIntent"],
        "LaunchRequest"
    );
    let ctx = env.context.as_ref().expect("context");
    assert!(ctx.other.contains_key("Viewports") && ctx.other.contains_key("AudioPlayer"));
    assert!(ctx
        .system
        .as_ref()
        .and_then(|s| s.device.as_ref())
        .and_then(|d| d.device_id.as_ref())
        .is_some());

    let env = parse(&sample("session-ended-request.json")).expect("session ended");
    let Request::SessionEnded(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.reason, Some(SessionEndedReason::Error));
    let error = r.error.as_ref().expect("error");
    assert_eq!(error.error_type, ErrorType::InvalidResponse);
    assert!(error.message.is_some());

    let env = parse(&sample("skill-account-linked.json")).expect("linked");
    let Request::SkillEvent(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.kind, RequestKind::SkillAccountLinked);
    assert!(r.event_creation_time.is_some() && r.event_publishing_time.is_some());
    assert_eq!(
        env.access_token().map(|t| t.expose_secret().to_owned()),
        Some("EXAMPLE-ACCOUNT-LINKING-TOKEN".to_owned())
    );

    let env = parse(&sample("list-items-deleted.json")).expect("list");
    let Request::ListEvent(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.kind, RequestKind::ItemsDeleted);
    assert_eq!(
        r.body.as_ref().expect("body")["listItemIds"][1],
        json!("7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e")
    );

    let env = parse(&sample("connections-response.json")).expect("connections");
    let Request::ConnectionsResponse(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.name.as_deref(), Some("Buy"));
    assert_eq!(r.token.as_deref(), Some("correlationToken"));
    assert_eq!(
        r.payload.as_ref().expect("payload")["purchaseResult"],
        "ACCEPTED"
    );

    let env = parse(&sample("exception-encountered.json")).expect("exception");
    let Request::ExceptionEncountered(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.error.as_ref().expect("error")["type"], "INVALID_RESPONSE");
    assert!(r.cause.is_some());
}

// ---------------------------------------------------------------- the seed

#[test]
fn seed_payload_parses_exactly() {
    let env = parse(&seed()).expect("seed parses");
    assert_eq!(env.version, "1.0");
    let Request::MessageReceived(r) = &env.request else {
        panic!("not MessageReceived: {env:?}")
    };
    assert_eq!(r.message, json!({"sometag": "message blob"}));
    assert_eq!(r.request_id, "unique request ID");
    assert_eq!(env.request.request_id(), "unique request ID");
    assert_eq!(r.timestamp, datetime!(2022-10-03 16:20:50.52 UTC));
    assert_eq!(
        env.request.timestamp(),
        datetime!(2022-10-03 16:20:50.52 UTC)
    );
    assert_eq!(env.request.locale(), None);
    assert_eq!(env.user_id(), Some("user.id.1"));
    assert_eq!(env.api_endpoint(), Some("https://api.amazonalexa.com"));
    assert_eq!(
        env.api_access_token().map(|t| t.expose_secret()),
        Some("someAccessToken.2")
    );
    assert_eq!(
        env.access_token().map(|t| t.expose_secret()),
        Some("someAccessToken.1")
    );
    assert_eq!(env.skill_id(), None);
    assert!(env.session.is_none());
}

#[test]
fn debug_output_redacts_tokens() {
    let env = parse(&seed()).expect("seed parses");
    let debug = format!("{env:?}");
    assert!(
        debug.contains("user.id.1"),
        "Debug lost the user id: {debug}"
    );
    assert!(!debug.contains("someAccessToken.1"), "{debug}");
    assert!(!debug.contains("someAccessToken.2"), "{debug}");
    let pretty = format!("{env:#?}");
    assert!(!pretty.contains("someAccessToken"), "{pretty}");

    // Tokens inside raw JSON: account-linking event body, consent tokens,
    // session user, an unknown request.
    for file in [
        "skill-account-linked.json",
        "skill-permission-accepted.json",
        "list-items-created.json",
    ] {
        let debug = format!("{:?}", parse(&sample(file)).expect(file));
        assert!(
            !debug.contains("EXAMPLE-ACCOUNT-LINKING-TOKEN"),
            "{file}: {debug}"
        );
        assert!(!debug.contains("EXAMPLE-CONSENT-TOKEN"), "{file}: {debug}");
        assert!(!debug.contains("EXAMPLE-SIGNATURE"), "{file}: {debug}");
    }
    let body = serde_json::to_vec(&json!({
        "version": "1.0",
        "session": {"user": {"userId": "u", "accessToken": "sessionSecret.3"}},
        "request": {"type": "Some.New", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z",
                    "nested": {"refreshToken": "rawSecret.4"}}
    }))
    .expect("json");
    let env = parse(&body).expect("parses");
    assert_eq!(
        env.access_token().map(|t| t.expose_secret()),
        Some("sessionSecret.3")
    );
    let debug = format!("{env:?}");
    assert!(
        !debug.contains("sessionSecret.3") && !debug.contains("rawSecret.4"),
        "{debug}"
    );
}

// ---------------------------------------------------------------- parsing rules

#[test]
fn version_as_string_or_number() {
    for version in [json!("1.0"), json!(1.0), json!(1)] {
        let body = serde_json::to_vec(&json!({
            "version": version,
            "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z"}
        }))
        .expect("json");
        assert_eq!(parse(&body).expect("parses").version, "1.0", "{version}");
    }
    // Literally `1.0` in the body, as the seed has it.
    let body = br#"{"version":1.0,"request":{"type":"LaunchRequest","requestId":"r","timestamp":"2022-10-03T16:20:50Z"}}"#;
    assert_eq!(parse(body).expect("parses").version, "1.0");

    let missing = br#"{"request":{"type":"LaunchRequest","requestId":"r","timestamp":"2022-10-03T16:20:50Z"}}"#;
    let e = parse_err(missing);
    assert_eq!((e.reason(), e.path()), ("missing_field", "version"));
    let wrong = br#"{"version":[],"request":{"type":"LaunchRequest","requestId":"r","timestamp":"2022-10-03T16:20:50Z"}}"#;
    let e = parse_err(wrong);
    assert_eq!((e.reason(), e.path()), ("invalid_field", "version"));
}

#[test]
fn timestamps_with_and_without_fractions() {
    for (ts, expected) in [
        (
            "2022-10-03T16:20:50.52Z",
            datetime!(2022-10-03 16:20:50.52 UTC),
        ),
        ("2022-10-03T16:20:50Z", datetime!(2022-10-03 16:20:50 UTC)),
        (
            "2022-10-03T16:20:50.123456789Z",
            datetime!(2022-10-03 16:20:50.123456789 UTC),
        ),
        (
            "2022-10-03T18:20:50+02:00",
            datetime!(2022-10-03 16:20:50 UTC),
        ),
    ] {
        let env = parse(&message_envelope(json!({"timestamp": ts}))).expect(ts);
        assert_eq!(env.request.timestamp(), expected, "{ts}");
    }
}

#[test]
fn bad_timestamp_is_invalid_field_naming_request_timestamp() {
    for ts in [
        json!("yesterday"),
        json!("2022-10-03 16:20:50"),
        json!(1664814050),
    ] {
        let e = parse_err(&message_envelope(json!({"timestamp": ts})));
        assert_eq!(e.reason(), "invalid_field", "{ts}: {e}");
        assert_eq!(e.path(), "request.timestamp", "{ts}: {e}");
        assert!(e.to_string().starts_with("request.timestamp: "), "{e}");
    }
    let e = parse_err(&message_envelope(json!({"timestamp": "yesterday"})));
    assert!(e.to_string().contains("RFC 3339"), "{e}");

    // Optional event timestamps are checked too.
    let mut v: Value = serde_json::from_slice(&sample("skill-enabled.json")).expect("json");
    v["request"]["eventCreationTime"] = json!("not a time");
    let e = parse_err(&serde_json::to_vec(&v).expect("json"));
    assert_eq!(
        (e.reason(), e.path()),
        ("invalid_field", "request.eventCreationTime")
    );
}

#[test]
fn missing_required_fields_are_named() {
    for (field, path) in [
        ("requestId", "request.requestId"),
        ("timestamp", "request.timestamp"),
        ("type", "request.type"),
        ("message", "request.message"),
    ] {
        let e = parse_err(&message_envelope(json!({ field: null })));
        assert_eq!(e.reason(), "missing_field", "{field}: {e}");
        assert_eq!(e.path(), path, "{field}: {e}");
        assert!(e.to_string().starts_with(&format!("{path}: ")), "{e}");
    }
    // Required for every type, including unknown ones.
    let e = parse_err(&with_request(
        json!({"type": "Some.New", "timestamp": "2022-10-03T16:20:50Z"}),
    ));
    assert_eq!(
        (e.reason(), e.path()),
        ("missing_field", "request.requestId")
    );
    let e = parse_err(&with_request(
        json!({"type": "AlexaSkillEvent.SkillEnabled", "requestId": "r"}),
    ));
    assert_eq!(
        (e.reason(), e.path()),
        ("missing_field", "request.timestamp")
    );
    // The envelope's own required members, and nested ones.
    let e = parse_err(br#"{"version":"1.0"}"#);
    assert_eq!((e.reason(), e.path()), ("missing_field", "request"));
    let e = parse_err(&with_request(
        json!({"type": "IntentRequest", "requestId": "r",
        "timestamp": "2022-10-03T16:20:50Z", "intent": {"slots": {}}}),
    ));
    assert_eq!(
        (e.reason(), e.path()),
        ("missing_field", "request.intent.name")
    );
}

#[test]
fn wrong_types_are_invalid_field_with_path() {
    let e = parse_err(&message_envelope(json!({"requestId": 42})));
    assert_eq!(
        (e.reason(), e.path()),
        ("invalid_field", "request.requestId")
    );
    let e = parse_err(&message_envelope(json!({"type": 7})));
    assert_eq!((e.reason(), e.path()), ("invalid_field", "request.type"));
    let e = parse_err(br#"{"version":"1.0","request":"LaunchRequest"}"#);
    assert_eq!((e.reason(), e.path()), ("invalid_field", "request"));
    let e = parse_err(b"[1,2,3]");
    assert_eq!((e.reason(), e.path()), ("invalid_field", ""));
    let body = serde_json::to_vec(&json!({"version": "1.0",
        "context": {"System": {"apiEndpoint": 3}},
        "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z"}}))
    .expect("json");
    let e = parse_err(&body);
    assert_eq!(
        (e.reason(), e.path()),
        ("invalid_field", "context.System.apiEndpoint")
    );
    let e = parse_err(&with_request(
        json!({"type": "IntentRequest", "requestId": "r",
        "timestamp": "2022-10-03T16:20:50Z", "intent": {"name": "X", "slots": {"a": {"value": 5}}}}),
    ));
    assert_eq!(
        (e.reason(), e.path()),
        ("invalid_field", "request.intent.slots.a.value")
    );
}

#[test]
fn malformed_json_and_empty_body() {
    for body in [
        &b""[..],
        b"   ",
        b"{",
        b"{\"version\":\"1.0\",",
        b"not json",
        b"{\"version\":\"1.0\",\"request\":{}} trailing",
        b"\xff\xfe",
    ] {
        let e = parse_err(body);
        assert_eq!(
            e.reason(),
            "malformed_json",
            "{:?}: {e}",
            String::from_utf8_lossy(body)
        );
    }
    // Trailing garbage after a complete, valid envelope.
    let mut body = seed();
    body.extend_from_slice(b"}");
    assert_eq!(parse_err(&body).reason(), "malformed_json");
}

#[test]
fn unknown_request_type_is_kept_raw() {
    let request = json!({
        "type": "Alexa.Presentation.APL.UserEvent",
        "requestId": "amzn1.echo-api.request.1",
        "timestamp": "2022-10-03T16:20:50Z",
        "locale": "de-DE",
        "arguments": ["clicked", 1],
        "source": {"type": "TouchWrapper"}
    });
    let env = parse(&with_request(request.clone())).expect("parses");
    let Request::Unknown(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.request_type, "Alexa.Presentation.APL.UserEvent");
    assert_eq!(
        env.request.request_type(),
        "Alexa.Presentation.APL.UserEvent"
    );
    assert_eq!(env.request.request_id(), "amzn1.echo-api.request.1");
    assert_eq!(env.request.locale(), Some("de-DE"));
    assert_eq!(r.raw, request);
    // A near miss of a known prefix is unknown too, not an error.
    let env = parse(&with_request(json!({"type": "AlexaSkillEvent.SkillFrozen",
        "requestId": "r", "timestamp": "2022-10-03T16:20:50Z"})))
    .expect("parses");
    assert!(matches!(env.request, Request::Unknown(_)));
}

#[test]
fn unknown_enum_values_never_fail() {
    let env = parse(&with_request(json!({
        "type": "SessionEndedRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z",
        "reason": "SOME_NEW_REASON",
        "error": {"type": "SOME_NEW_ERROR", "message": "m"}
    })))
    .expect("parses");
    let Request::SessionEnded(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(
        r.reason,
        Some(SessionEndedReason::Other("SOME_NEW_REASON".into()))
    );
    let error = r.error.as_ref().expect("error");
    assert_eq!(error.error_type, ErrorType::Other("SOME_NEW_ERROR".into()));
    assert_eq!(error.error_type.as_str(), "SOME_NEW_ERROR");

    let env = parse(&with_request(json!({
        "type": "IntentRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z",
        "dialogState": "PAUSED",
        "intent": {"name": "X", "confirmationStatus": "MAYBE",
                   "slots": {"s": {"name": "s", "confirmationStatus": "PERHAPS"}}}
    })))
    .expect("parses");
    let Request::Intent(r) = &env.request else {
        panic!("{env:?}")
    };
    assert_eq!(r.dialog_state, Some(DialogState::Other("PAUSED".into())));
    assert_eq!(
        r.intent.confirmation_status,
        Some(ConfirmationStatus::Other("MAYBE".into()))
    );
    assert_eq!(
        r.intent.slots["s"].confirmation_status,
        Some(ConfirmationStatus::Other("PERHAPS".into()))
    );
    // Known values map to their variants.
    for (wire, state) in [
        ("STARTED", DialogState::Started),
        ("IN_PROGRESS", DialogState::InProgress),
        ("COMPLETED", DialogState::Completed),
    ] {
        let v: DialogState = serde_json::from_value(json!(wire)).expect("dialog state");
        assert_eq!(v, state);
        assert_eq!(serde_json::to_value(&state).expect("ser"), json!(wire));
    }
}

#[test]
fn optional_parts_may_be_absent_or_null() {
    // No locale, session, context, application, slots.
    let env = parse(&with_request(
        json!({"type": "IntentRequest", "requestId": "r",
        "timestamp": "2022-10-03T16:20:50Z", "intent": {"name": "X"}}),
    ))
    .expect("minimal intent");
    assert!(env.session.is_none() && env.context.is_none());
    assert_eq!(env.skill_id(), None);
    assert_eq!(env.user_id(), None);
    let Request::Intent(r) = &env.request else {
        panic!()
    };
    assert!(r.intent.slots.is_empty());

    // Nulls where Alexa could send them; unknown fields everywhere.
    let body = serde_json::to_vec(&json!({
        "version": "1.0", "unknownTop": {"x": 1},
        "session": {"new": null, "application": null, "attributes": null, "user": {"userId": "su", "extra": 1}},
        "context": null,
        "request": {"type": "IntentRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z",
                    "locale": null, "intent": {"name": "X", "slots": null, "more": true}, "whatever": []}
    }))
    .expect("json");
    let env = parse(&body).expect("nulls");
    assert_eq!(env.user_id(), Some("su"));
    assert!(!env.session.as_ref().expect("session").new);

    // Session fallbacks for skill id and user id.
    let body = serde_json::to_vec(&json!({"version": "1.0",
        "session": {"new": true, "application": {"applicationId": SKILL_ID}, "user": {"userId": "su"}},
        "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z"}}))
    .expect("json");
    let env = parse(&body).expect("session only");
    assert_eq!(env.skill_id(), Some(SKILL_ID));
    assert_eq!(env.user_id(), Some("su"));
    // context wins over session.
    let body = serde_json::to_vec(&json!({"version": "1.0",
        "session": {"application": {"applicationId": "from-session"}, "user": {"userId": "su"}},
        "context": {"System": {"application": {"applicationId": "from-context"}, "user": {"userId": "cu"}}},
        "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": "2022-10-03T16:20:50Z"}}))
    .expect("json");
    let env = parse(&body).expect("both");
    assert_eq!(env.skill_id(), Some("from-context"));
    assert_eq!(env.user_id(), Some("cu"));
}

// ---------------------------------------------------------------- message size

fn message_of_serialized_size(size: usize) -> Value {
    // A JSON string serializes to its contents plus two quotes.
    Value::String("x".repeat(size - 2))
}

#[test]
fn message_over_6kb_is_rejected() {
    let e = parse_err(&message_envelope(json!({"message": "x".repeat(7000)})));
    assert_eq!(e.reason(), "message_too_large", "{e}");
    assert_eq!(e.path(), "request.message");

    let e = parse_err(&message_envelope(json!({
        "message": message_of_serialized_size(MAX_MESSAGE_BYTES + 1)
    })));
    assert_eq!(e.reason(), "message_too_large");

    // Measured compactly: whitespace in the body does not count, content does.
    let big_object = json!({"items": vec!["abcdefghij"; 600]});
    assert!(serde_json::to_vec(&big_object).expect("json").len() > MAX_MESSAGE_BYTES);
    let e = parse_err(&message_envelope(json!({ "message": big_object })));
    assert_eq!(e.reason(), "message_too_large");
}

#[test]
fn message_at_the_limit_passes() {
    assert_eq!(MAX_MESSAGE_BYTES, 6144);
    let message = message_of_serialized_size(MAX_MESSAGE_BYTES);
    assert_eq!(serde_json::to_vec(&message).expect("json").len(), 6144);
    let env = parse(&message_envelope(json!({ "message": message.clone() }))).expect("at limit");
    let Request::MessageReceived(r) = env.request else {
        panic!()
    };
    assert_eq!(r.message, message);

    // Pretty-printed in the body but small when compact: accepted.
    let items: Vec<Value> = (0..1200).map(|i| json!(i)).collect();
    let pretty = serde_json::to_string_pretty(&json!({
        "version": "1.0",
        "request": {"type": "Messaging.MessageReceived", "requestId": "r",
                    "timestamp": "2022-10-03T16:20:50Z", "message": {"items": items}}
    }))
    .expect("json");
    assert!(pretty.len() > MAX_MESSAGE_BYTES);
    parse(pretty.as_bytes()).expect("compact size is under the limit");
}

#[test]
fn message_may_be_any_json_value() {
    for message in [
        json!("just a string"),
        json!(42),
        json!([1, "two"]),
        json!(true),
        json!({}),
    ] {
        let env = parse(&message_envelope(json!({ "message": message.clone() }))).expect("parses");
        let Request::MessageReceived(r) = env.request else {
            panic!()
        };
        assert_eq!(r.message, message);
    }
}

// ---------------------------------------------------------------- responses

fn response_json(r: &Response) -> Value {
    serde_json::from_slice(&r.to_bytes().expect("fits")).expect("json")
}

#[test]
fn ack_is_exact() {
    assert_eq!(
        Response::ack().to_bytes().expect("fits"),
        br#"{"version":"1.0","response":{}}"#.to_vec()
    );
    assert_eq!(
        Response::builder().build().to_bytes().expect("fits"),
        br#"{"version":"1.0","response":{}}"#.to_vec()
    );
}

#[test]
fn builder_produces_alexa_response_format() {
    let r = Response::builder()
        .speak("Hello there")
        .reprompt("Are you still there?")
        .simple_card("Greeting", "Hello there")
        .should_end_session(false)
        .session_attribute("count", json!(2))
        .build();
    assert_eq!(
        response_json(&r),
        json!({
            "version": "1.0",
            "sessionAttributes": {"count": 2},
            "response": {
                "outputSpeech": {"type": "PlainText", "text": "Hello there"},
                "reprompt": {"outputSpeech": {"type": "PlainText", "text": "Are you still there?"}},
                "card": {"type": "Simple", "title": "Greeting", "content": "Hello there"},
                "shouldEndSession": false
            }
        })
    );

    let directive = json!({"type": "Dialog.ElicitSlot", "slotToElicit": "size"});
    let r = Response::builder()
        .speak_ssml("Hi <break time=\"1s\"/> there")
        .reprompt_ssml("<speak>Still <emphasis>there</emphasis>?</speak>")
        .standard_card(
            "Title",
            "Body text",
            Some("https://example.com/small.png".into()),
            Some("https://example.com/large.png".into()),
        )
        .directive(directive.clone())
        .directive(json!({"type": "Dialog.Delegate"}))
        .should_end_session(true)
        .build();
    assert_eq!(
        response_json(&r),
        json!({
            "version": "1.0",
            "response": {
                "outputSpeech": {"type": "SSML", "ssml": "<speak>Hi <break time=\"1s\"/> there</speak>"},
                "reprompt": {"outputSpeech": {"type": "SSML", "ssml": "<speak>Still <emphasis>there</emphasis>?</speak>"}},
                "card": {"type": "Standard", "title": "Title", "text": "Body text",
                         "image": {"smallImageUrl": "https://example.com/small.png",
                                   "largeImageUrl": "https://example.com/large.png"}},
                "directives": [directive, {"type": "Dialog.Delegate"}],
                "shouldEndSession": true
            }
        })
    );

    let r = Response::builder()
        .standard_card("T", "X", None, None)
        .build();
    assert_eq!(
        response_json(&r)["response"]["card"],
        json!({"type": "Standard", "title": "T", "text": "X"})
    );
}

#[test]
fn response_over_24kb_is_an_error() {
    assert_eq!(MAX_RESPONSE_BYTES, 24 * 1024);
    let err = Response::builder()
        .speak("a".repeat(MAX_RESPONSE_BYTES))
        .build()
        .to_bytes()
        .expect_err("too large");
    assert!(err.size > MAX_RESPONSE_BYTES, "{}", err.size);
    assert!(err.to_string().contains("24576"), "{err}");

    // Exactly at the limit is fine; one byte more is not.
    let overhead = Response::builder()
        .speak("")
        .build()
        .to_bytes()
        .expect("fits")
        .len();
    let at_limit = Response::builder()
        .speak("a".repeat(MAX_RESPONSE_BYTES - overhead))
        .build();
    assert_eq!(at_limit.to_bytes().expect("fits").len(), MAX_RESPONSE_BYTES);
    let over = Response::builder()
        .speak("a".repeat(MAX_RESPONSE_BYTES - overhead + 1))
        .build();
    assert_eq!(
        over.to_bytes().expect_err("over").size,
        MAX_RESPONSE_BYTES + 1
    );
}

// ---------------------------------------------------------------- never panics

/// JSON-ish mutations of the seed: replace a byte range with another snippet.
fn mutate(seed: &[u8], at: usize, len: usize, insert: &[u8]) -> Vec<u8> {
    let at = at % (seed.len() + 1);
    let end = (at + len).min(seed.len());
    let mut out = seed[..at].to_vec();
    out.extend_from_slice(insert);
    out.extend_from_slice(&seed[end..]);
    out
}

fn json_snippet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"null".to_vec()),
        Just(b"{}".to_vec()),
        Just(b"[]".to_vec()),
        Just(b"\"\"".to_vec()),
        Just(b"1.0".to_vec()),
        Just(b"-1e999".to_vec()),
        Just(b"\"\\u0000\"".to_vec()),
        Just(b"\"type\":\"IntentRequest\",".to_vec()),
        Just(b"\"type\":\"AlexaSkillEvent.SkillEnabled\",".to_vec()),
        Just(b"\"timestamp\":\"9999-99-99T99:99:99Z\",".to_vec()),
        Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ]
}

/// Structural mutations: replace a value at a random path in the seed's JSON.
fn replace_somewhere(v: &mut Value, choice: usize, replacement: Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let i = choice % (map.len() + 1);
            if i == map.len() {
                *v = replacement;
            } else {
                let key = map.keys().nth(i).cloned().expect("index in range");
                replace_somewhere(map.get_mut(&key).expect("key"), choice / 7, replacement);
            }
        }
        _ => *v = replacement,
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".*".prop_map(Value::from),
        Just(json!("2022-10-03T16:20:50Z")),
        Just(json!("Messaging.MessageReceived")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&body);
    }

    #[test]
    fn parse_never_panics_on_byte_mutations_of_the_seed(
        edits in proptest::collection::vec((any::<usize>(), 0usize..16, json_snippet()), 1..4)
    ) {
        let mut body = seed();
        for (at, len, insert) in edits {
            body = mutate(&body, at, len, &insert);
        }
        if let Err(e) = parse(&body) {
            // Every error has a known reason.
            prop_assert!(["malformed_json", "missing_field", "invalid_field", "message_too_large",
                "duplicate_field", "request_id_too_long"]
                .contains(&e.reason()));
        }
    }

    #[test]
    fn parse_never_panics_on_structural_mutations_of_the_seed(
        choice in any::<usize>(), replacement in json_value(), ty in prop_oneof![
            Just("Messaging.MessageReceived"), Just("IntentRequest"), Just("SessionEndedRequest"),
            Just("AlexaHouseholdListEvent.ItemsCreated"), Just("Connections.Response"), Just("X.Y"),
        ]
    ) {
        let mut v: Value = serde_json::from_slice(&seed()).expect("seed is JSON");
        v["request"]["type"] = json!(ty);
        replace_somewhere(&mut v, choice, replacement);
        let body = serde_json::to_vec(&v).expect("serialize");
        if let Err(e) = parse(&body) {
            prop_assert_ne!(e.reason(), "malformed_json", "valid JSON reported malformed: {}", e);
        }
    }
}

#[test]
fn error_messages_stay_short() {
    let long = "9".repeat(10_000);
    let e = parse_err(&message_envelope(json!({ "timestamp": long })));
    assert_eq!(e.path(), "request.timestamp");
    assert!(e.to_string().len() < 300, "{} bytes", e.to_string().len());
    let e = parse_err(&message_envelope(
        json!({ "requestId": {"k": "é".repeat(5000)} }),
    ));
    assert_eq!(e.reason(), "invalid_field");
    assert!(e.to_string().len() < 300);
}

#[test]
fn a_too_long_array_in_place_of_an_object_is_an_invalid_field_not_malformed_json() {
    // Found by the structural proptest: serde_json calls this "trailing characters".
    let mut v: Value = serde_json::from_slice(&seed()).expect("seed is JSON");
    v["context"]["System"] = json!([["", null]]);
    let e = parse_err(&serde_json::to_vec(&v).expect("serialize"));
    assert_eq!(e.reason(), "invalid_field", "{e}");
    assert_eq!(e.path(), "context.System.0");
    // Trailing bytes after the body are still malformed JSON.
    let mut body = seed();
    body.extend_from_slice(b" x");
    assert_eq!(parse_err(&body).reason(), "malformed_json");
}
