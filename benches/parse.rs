//! Envelope parsing on the hot path, and what the duplicate-key pass costs.
//!
//! `envelope::parse` runs the duplicate-key pass over every body besides
//! the parse itself. Measured in the same run: the whole `parse`, the
//! duplicate-key pass alone, and a plain `serde_json::Value` parse of the
//! same bytes as a reference. The pass's share is `dup_pass / parse`; the
//! cost it adds to a parse without it is `parse / (parse - dup_pass)`.
//!
//! `cargo bench --bench parse` (add `-- --quick` for a short run).

use std::hint::black_box;

use alexa_endpoint::envelope::{duplicate_key_pass, parse};
use criterion::{criterion_main, Criterion};

/// A realistic `Messaging.MessageReceived` body (about 1.5 KB), the one
/// `benches/verify.rs` signs.
const MESSAGE: &str = r#"{"version":"1.0","context":{"System":{"application":{"applicationId":"amzn1.ask.skill.11111111-2222-3333-4444-555555555555"},"user":{"userId":"amzn1.ask.account.AEXAMPLEUSERIDAEXAMPLEUSERIDAEXAMPLEUSERIDAEXAMPLEUSERID"},"apiEndpoint":"https://api.amazonalexa.com","apiAccessToken":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJhdWQiOiJodHRwczovL2FwaS5hbWF6b25hbGV4YS5jb20iLCJpc3MiOiJBbGV4YVNraWxsS2l0Iiwic3ViIjoiYW16bjEuYXNrLnNraWxsLjExMTExMTExIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"}},"request":{"type":"Messaging.MessageReceived","requestId":"amzn1.echo-api.request.0000000-0000-0000-0000-00000000000","timestamp":"2024-01-01T00:00:00Z","message":{"list":"shopping","add":["milk","eggs","bread","coffee"],"complete":["tea"],"note":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."}}}"#;

fn bench(c: &mut Criterion) {
    let body = MESSAGE.as_bytes();
    assert!(parse(body).is_ok());
    assert!(duplicate_key_pass(body).is_none());

    let mut group = c.benchmark_group("parse");
    group.bench_function("envelope_parse_with_duplicate_check", |b| {
        b.iter(|| parse(black_box(body)).expect("valid"))
    });
    group.bench_function("duplicate_key_pass_only", |b| {
        b.iter(|| duplicate_key_pass(black_box(body)))
    });
    group.bench_function("serde_json_value_reference", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).expect("JSON"))
    });
    // An object of 2,000 keys: the pass stays linear (hash set past 16 keys).
    let wide = {
        let keys: Vec<String> = (0..2000).map(|i| format!("\"k{i}\":{i}")).collect();
        MESSAGE.replacen(
            r#""note":"#,
            &format!(r#""wide":{{{}}},"note":"#, keys.join(",")),
            1,
        )
    };
    group.bench_function("duplicate_key_pass_2000_keys", |b| {
        b.iter(|| duplicate_key_pass(black_box(wide.as_bytes())))
    });
    group.finish();
}

/// criterion's macro generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
