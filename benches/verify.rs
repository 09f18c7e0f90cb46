//! Hot path of request verification: a signed request checked against an
//! already cached chain, next to a bare RSA-2048 PKCS#1 v1.5 SHA-256 verify
//! of the same body measured in the same run. Goal: at most 1.3x the bare
//! verify (the cached path adds header look-ups, the cert URL rules, base64,
//! one cache look-up and two time comparisons).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write as _;
use std::sync::Arc;

use alexa_endpoint::config::VerificationConfig;
use alexa_endpoint::dev::{refresh_timestamp, sign_body, TestPki};
use alexa_endpoint::verify::{CertSource, FetchError, Verifier};
use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use criterion::{criterion_main, Criterion};
use futures_util::FutureExt as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

/// Serves one chain; only called once (then the chain is cached).
struct Fixed(bytes::Bytes);

#[async_trait::async_trait]
impl CertSource for Fixed {
    async fn fetch(&self, _url: &url::Url) -> Result<bytes::Bytes, FetchError> {
        Ok(self.0.clone())
    }
}

/// A realistic `Messaging.MessageReceived` body (about 1.5 KB).
const PAYLOAD: &str = r#"{"version":"1.0","context":{"System":{"application":{"applicationId":"amzn1.ask.skill.11111111-2222-3333-4444-555555555555"},"user":{"userId":"amzn1.ask.account.AEXAMPLEUSERIDAEXAMPLEUSERIDAEXAMPLEUSERIDAEXAMPLEUSERID"},"apiEndpoint":"https://api.amazonalexa.com","apiAccessToken":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJhdWQiOiJodHRwczovL2FwaS5hbWF6b25hbGV4YS5jb20iLCJpc3MiOiJBbGV4YVNraWxsS2l0Iiwic3ViIjoiYW16bjEuYXNrLnNraWxsLjExMTExMTExIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"}},"request":{"type":"Messaging.MessageReceived","requestId":"amzn1.echo-api.request.0000000-0000-0000-0000-00000000000","timestamp":"2024-01-01T00:00:00Z","message":{"list":"shopping","add":["milk","eggs","bread","coffee"],"complete":["tea"],"note":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."}}}"#;

fn bench(c: &mut Criterion) {
    let pki = TestPki::generate().expect("test PKI");
    let mut roots = tempfile::NamedTempFile::new().expect("roots file");
    roots
        .write_all(pki.root_pem().as_bytes())
        .expect("write roots");
    let cfg = VerificationConfig {
        enabled: true,
        skill_ids: vec!["amzn1.ask.skill.11111111-2222-3333-4444-555555555555".into()],
        allow_any_skill: false,
        timestamp_tolerance: std::time::Duration::from_secs(150),
        accept_legacy_sha1: false,
        cert_fetch_timeout: std::time::Duration::from_millis(2000),
        cert_download_concurrency: 4,
        cert_failure_ttl: std::time::Duration::from_secs(60),
        extra_roots: Some(roots.path().to_owned()),
        preloaded_certs: BTreeMap::new(),
    };
    let source = Arc::new(Fixed(pki.chain_pem().as_bytes().to_vec().into()));
    let verifier = Verifier::with_source(&cfg, source).expect("verifier");

    let now = time::OffsetDateTime::now_utc();
    let body = refresh_timestamp(PAYLOAD.as_bytes(), now, None).expect("body");
    let signed = sign_body(&pki, &body).expect("sign");
    let headers = signed.header_map();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&signed.signature_256)
        .expect("base64");

    // Warm the cache (the one download), then every iteration is a hit.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(verifier.verify_signature(&headers, &body, now))
        .expect("first verification");

    let leaf = CertificateDer::from_pem_slice(pki.leaf_pem().as_bytes()).expect("leaf");
    let spki = webpki::EndEntityCert::try_from(&leaf)
        .expect("leaf parses")
        .subject_public_key_info();
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref()).expect("key");
    let unparsed = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref().to_vec());

    let mut group = c.benchmark_group("verify");
    group.bench_function("bare_rsa2048_verify_parsed_key", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(&body), black_box(&signature))
                .expect("valid")
        })
    });
    group.bench_function("bare_rsa2048_verify_unparsed_key", |b| {
        b.iter(|| {
            unparsed
                .verify(black_box(&body), black_box(&signature))
                .expect("valid")
        })
    });
    group.bench_function("verify_signature_cached_chain", |b| {
        b.iter(|| {
            verifier
                .verify_signature(black_box(&headers), black_box(&body), now)
                .now_or_never()
                .expect("a cache hit completes without waiting")
                .expect("valid")
        })
    });
    group.bench_function("cert_url_rules_only", |b| {
        b.iter(|| {
            alexa_endpoint::verify::validate_cert_url(black_box(&signed.cert_url)).expect("valid")
        })
    });
    group.bench_function("verify_full_cached_chain", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&headers), black_box(&body), now)
                .now_or_never()
                .expect("a cache hit completes without waiting")
                .expect("valid")
        })
    });
    group.finish();
    assert_eq!(verifier.cert_stats().downloads, 1);
}

/// criterion's macro generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
