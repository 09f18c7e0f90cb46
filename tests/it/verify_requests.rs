//! Timestamp tolerance, skill id allowlist, and the `verify()` convenience.

use std::sync::Arc;

use alexa_endpoint::envelope::RequestKind;
use alexa_endpoint::verify::{Verifier, VerifyError};
use time::{Duration, OffsetDateTime};

use super::verify_support::{
    config, envelope, now, signed, verifier, CountingSource, PKI, SKILL_ID,
};

fn plain_verifier() -> Arc<Verifier> {
    Verifier::with_source(&config(), CountingSource::new("unused")).expect("verifier")
}

#[test]
fn timestamp_exactly_at_tolerance_is_accepted_both_ways() {
    let v = plain_verifier();
    let n = now();
    for ts in [n - Duration::seconds(150), n + Duration::seconds(150), n] {
        assert_eq!(
            v.check_request(RequestKind::Intent, ts, Some(SKILL_ID), n),
            Ok(())
        );
    }
}

#[test]
fn timestamp_one_second_past_tolerance_is_rejected_both_ways() {
    let v = plain_verifier();
    let n = now();
    for ts in [n - Duration::seconds(151), n + Duration::seconds(151)] {
        assert_eq!(
            v.check_request(RequestKind::Intent, ts, Some(SKILL_ID), n),
            Err(VerifyError::StaleTimestamp)
        );
    }
    // Sub-second precision: 150.5 s is more than 150 s.
    assert_eq!(
        v.check_request(
            RequestKind::Intent,
            n - Duration::milliseconds(150_500),
            Some(SKILL_ID),
            n
        ),
        Err(VerifyError::StaleTimestamp)
    );
}

#[test]
fn configured_tolerance_is_used() {
    let mut cfg = config();
    cfg.timestamp_tolerance = std::time::Duration::from_secs(30);
    let v = Verifier::with_source(&cfg, CountingSource::new("unused")).expect("verifier");
    let n = now();
    assert!(v
        .check_request(
            RequestKind::Intent,
            n - Duration::seconds(30),
            Some(SKILL_ID),
            n
        )
        .is_ok());
    assert!(v
        .check_request(
            RequestKind::Intent,
            n - Duration::seconds(31),
            Some(SKILL_ID),
            n
        )
        .is_err());
}

#[test]
fn skill_events_allow_an_hour() {
    let v = plain_verifier();
    let n = now();
    let late: Vec<RequestKind> = RequestKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_delivered_late())
        .collect();
    assert_eq!(late.len(), 5);
    for kind in late {
        assert!(kind.as_str().starts_with("AlexaSkillEvent."), "{kind}");
        for ok in [n - Duration::seconds(3599), n + Duration::seconds(3599)] {
            assert_eq!(
                v.check_request(kind, ok, Some(SKILL_ID), n),
                Ok(()),
                "{kind}"
            );
        }
        for bad in [n - Duration::seconds(3601), n + Duration::seconds(3601)] {
            assert_eq!(
                v.check_request(kind, bad, Some(SKILL_ID), n),
                Err(VerifyError::StaleTimestamp),
                "{kind}"
            );
        }
    }
    // Other skill-ish types keep the normal tolerance.
    for kind in [
        "AlexaSkillEvent.ProactiveSubscriptionChanged",
        "AlexaHouseholdListEvent.ItemsCreated",
        "Messaging.MessageReceived",
    ] {
        assert_eq!(
            v.check_request(
                RequestKind::from_wire(kind),
                n - Duration::seconds(3599),
                Some(SKILL_ID),
                n
            ),
            Err(VerifyError::StaleTimestamp),
            "{kind}"
        );
    }
}

#[test]
fn fractional_seconds_are_accepted() {
    let v = plain_verifier();
    let ts = OffsetDateTime::parse(
        "2022-10-03T16:20:50.52Z",
        &time::format_description::well_known::Rfc3339,
    )
    .expect("parse");
    let n = ts + Duration::milliseconds(149_900);
    assert_eq!(
        v.check_request(RequestKind::Intent, ts, Some(SKILL_ID), n),
        Ok(())
    );
}

#[test]
fn skill_id_missing_or_other_is_rejected() {
    let v = plain_verifier();
    let n = now();
    let missing = v.check_request(RequestKind::Intent, n, None, n);
    assert_eq!(missing, Err(VerifyError::SkillIdMissing));
    let other = v.check_request(RequestKind::Intent, n, Some("amzn1.ask.skill.other"), n);
    assert_eq!(other, Err(VerifyError::SkillIdNotAllowed));
    assert_eq!(
        VerifyError::SkillIdNotAllowed.reason(),
        "skill_id_not_allowed"
    );
    assert!(!VerifyError::SkillIdNotAllowed.is_transient());
}

#[test]
fn allow_any_skill_accepts_any_or_none() {
    let mut cfg = config();
    cfg.skill_ids.clear();
    cfg.allow_any_skill = true;
    let v = Verifier::with_source(&cfg, CountingSource::new("unused")).expect("verifier");
    let n = now();
    assert_eq!(
        v.check_request(RequestKind::Intent, n, Some("x"), n),
        Ok(())
    );
    assert_eq!(v.check_request(RequestKind::Intent, n, None, n), Ok(()));
}

#[tokio::test]
async fn verify_convenience_checks_everything() {
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    let n = now();
    let body = envelope("Messaging.MessageReceived", n, Some(SKILL_ID));
    let verified = v
        .verify(&signed(&PKI, &body), &body, n)
        .await
        .expect("verified");
    assert_eq!(verified.request_type, "Messaging.MessageReceived");
    assert_eq!(verified.skill_id.as_deref(), Some(SKILL_ID));

    let stale = envelope(
        "Messaging.MessageReceived",
        n - Duration::seconds(151),
        Some(SKILL_ID),
    );
    assert_eq!(
        v.verify(&signed(&PKI, &stale), &stale, n).await,
        Err(VerifyError::StaleTimestamp)
    );
    let other = envelope(
        "Messaging.MessageReceived",
        n,
        Some("amzn1.ask.skill.other"),
    );
    assert_eq!(
        v.verify(&signed(&PKI, &other), &other, n).await,
        Err(VerifyError::SkillIdNotAllowed)
    );
    let none = envelope("Messaging.MessageReceived", n, None);
    assert_eq!(
        v.verify(&signed(&PKI, &none), &none, n).await,
        Err(VerifyError::SkillIdMissing)
    );
}

#[tokio::test]
async fn verify_uses_session_application_when_context_lacks_it() {
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    let n = now();
    let ts = n
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let body = serde_json::to_vec(&serde_json::json!({
        "version": "1.0",
        "session": { "new": true, "application": { "applicationId": SKILL_ID } },
        "context": { "System": { "device": {} } },
        "request": { "type": "IntentRequest", "requestId": "r", "timestamp": ts },
    }))
    .expect("json");
    let verified = v.verify(&signed(&PKI, &body), &body, n).await.expect("ok");
    assert_eq!(verified.skill_id.as_deref(), Some(SKILL_ID));

    // Context wins over session.
    let body = serde_json::to_vec(&serde_json::json!({
        "version": "1.0",
        "session": { "application": { "applicationId": SKILL_ID } },
        "context": { "System": { "application": { "applicationId": "amzn1.ask.skill.other" } } },
        "request": { "type": "IntentRequest", "requestId": "r", "timestamp": ts },
    }))
    .expect("json");
    assert_eq!(
        v.verify(&signed(&PKI, &body), &body, n).await,
        Err(VerifyError::SkillIdNotAllowed)
    );
}

#[tokio::test]
async fn verify_parses_fractional_timestamps_and_rejects_malformed_bodies() {
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    let n = now();
    // Two fractional digits, like Alexa's "2022-10-03T16:20:50.52Z".
    let whole = n
        .replace_nanosecond(0)
        .expect("whole second")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let ts = whole.replace('Z', ".52Z");
    let body = serde_json::to_vec(&serde_json::json!({
        "version": 1.0,
        "context": { "System": { "application": { "applicationId": SKILL_ID } } },
        "request": { "type": "IntentRequest", "timestamp": ts },
    }))
    .expect("json");
    let verified = v.verify(&signed(&PKI, &body), &body, n).await.expect("ok");
    assert_eq!(verified.timestamp.millisecond(), 520);

    for bad in [
        &b"not json"[..],
        br#"{"request":{"type":"IntentRequest"}}"#,
        br#"{"request":{"type":"IntentRequest","timestamp":"yesterday"}}"#,
        br#"{"version":"1.0"}"#,
    ] {
        let err = v
            .verify(&signed(&PKI, bad), bad, now())
            .await
            .expect_err("malformed");
        assert_eq!(err.reason(), "malformed_request", "{err:?}");
    }
}
