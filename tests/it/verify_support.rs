//! Shared helpers for the verification tests: PKIs, config, a counting cert
//! source, request signing (including legacy SHA-1).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use alexa_endpoint::config::VerificationConfig;
use alexa_endpoint::dev::{sign_body, TestPki};
use alexa_endpoint::verify::{
    CertSource, FetchError, Verifier, CERT_URL_HEADER, SIGNATURE_SHA1_HEADER,
};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use num_bigint::BigUint;
use time::OffsetDateTime;

pub const SKILL_ID: &str = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555";
pub const CERT_URL: &str = alexa_endpoint::dev::DEV_CERT_URL;

/// One good PKI for the whole test binary (RSA key generation is slow in
/// debug builds).
pub static PKI: LazyLock<TestPki> =
    LazyLock::new(|| TestPki::generate().expect("generate the shared test PKI"));

/// A second, unrelated PKI ("other key", "untrusted root").
pub static OTHER_PKI: LazyLock<TestPki> =
    LazyLock::new(|| TestPki::generate().expect("generate the other test PKI"));

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Production-like config: skill id list, tolerance 150, SHA-1 off.
pub fn config() -> VerificationConfig {
    VerificationConfig {
        enabled: true,
        skill_ids: vec![SKILL_ID.to_owned()],
        allow_any_skill: false,
        timestamp_tolerance: Duration::from_secs(150),
        accept_legacy_sha1: false,
        cert_fetch_timeout: Duration::from_millis(2000),
        cert_download_concurrency: 4,
        cert_failure_ttl: Duration::from_secs(60),
        extra_roots: None,
        preloaded_certs: BTreeMap::new(),
    }
}

/// A temp file holding the root certs of `pkis` (for `extra_roots`).
pub fn roots_file(pkis: &[&TestPki]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp roots file");
    for pki in pkis {
        file.write_all(pki.root_pem().as_bytes())
            .expect("write roots");
    }
    file
}

/// A verifier trusting `trusted`'s roots (none: web PKI roots only), with `cfg` tweaks, fed by `source`.
pub fn verifier(
    trusted: &[&TestPki],
    tweak: impl FnOnce(&mut VerificationConfig),
    source: Arc<dyn CertSource>,
) -> Arc<Verifier> {
    let roots = roots_file(trusted);
    let mut cfg = config();
    if !trusted.is_empty() {
        cfg.extra_roots = Some(roots.path().to_owned());
    }
    tweak(&mut cfg);
    Verifier::with_source(&cfg, source).expect("build verifier")
}

/// A cert source serving fixed bytes, counting fetches; it can fail the first
/// `failures` fetches and sleep before answering.
pub struct CountingSource {
    pem: Mutex<Bytes>,
    fetches: AtomicUsize,
    failures_left: AtomicUsize,
    delay: Duration,
}

impl CountingSource {
    pub fn new(pem: impl Into<Bytes>) -> Arc<Self> {
        Self::with(pem, 0, Duration::ZERO)
    }

    pub fn with(pem: impl Into<Bytes>, failures: usize, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            pem: Mutex::new(pem.into()),
            fetches: AtomicUsize::new(0),
            failures_left: AtomicUsize::new(failures),
            delay,
        })
    }

    /// Serves `pki`'s chain.
    pub fn chain(pki: &TestPki) -> Arc<Self> {
        Self::new(pki.chain_pem().to_owned())
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl CertSource for CountingSource {
    async fn fetch(&self, _url: &url::Url) -> Result<Bytes, FetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let failed = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            return Err(FetchError::Status(503));
        }
        Ok(self.pem.lock().expect("lock").clone())
    }
}

/// `Signature-256` + cert URL headers for `body`, signed by `pki`.
pub fn signed(pki: &TestPki, body: &[u8]) -> HeaderMap {
    sign_body(pki, body).expect("sign").header_map()
}

/// A minimal request envelope with the given type, timestamp and skill id.
pub fn envelope(request_type: &str, timestamp: OffsetDateTime, skill_id: Option<&str>) -> Vec<u8> {
    let ts = timestamp
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format timestamp");
    let mut v = serde_json::json!({
        "version": "1.0",
        "context": { "System": {} },
        "request": { "type": request_type, "requestId": "amzn1.echo-api.request.1", "timestamp": ts },
    });
    if let Some(id) = skill_id {
        v["context"]["System"]["application"] = serde_json::json!({ "applicationId": id });
    }
    serde_json::to_vec(&v).expect("serialize envelope")
}

/// Legacy `Signature` (RSA PKCS#1 v1.5 SHA-1) headers for `body`.
///
/// aws-lc-rs cannot sign with SHA-1, so this does the RSA private-key
/// operation by hand (test-only, not constant time).
pub fn signed_sha1(pki: &TestPki, body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CERT_URL_HEADER, HeaderValue::from_static(CERT_URL));
    let sig = base64::engine::general_purpose::STANDARD.encode(sign_sha1(pki, body));
    headers.insert(
        SIGNATURE_SHA1_HEADER,
        HeaderValue::from_str(&sig).expect("header value"),
    );
    headers
}

fn sign_sha1(pki: &TestPki, body: &[u8]) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pki.leaf_key_pem().as_bytes())
        .expect("leaf key PEM");
    let (n, d) = rsa_n_d(pkcs8.secret_pkcs8_der());
    let k = n.to_bytes_be().len();
    const SHA1_DIGEST_INFO: [u8; 15] = [
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, body);
    let t_len = SHA1_DIGEST_INFO.len() + hash.as_ref().len();
    let mut em = vec![0x00, 0x01];
    em.resize(k - t_len - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&SHA1_DIGEST_INFO);
    em.extend_from_slice(hash.as_ref());
    let s = BigUint::from_bytes_be(&em).modpow(&d, &n).to_bytes_be();
    let mut sig = vec![0; k - s.len()];
    sig.extend_from_slice(&s);
    sig
}

/// Modulus and private exponent from a PKCS#8 RSA key.
fn rsa_n_d(pkcs8: &[u8]) -> (BigUint, BigUint) {
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING }
    let (_, info, _) = tlv(pkcs8);
    let (_, _, rest) = tlv(info); // version
    let (_, _, rest) = tlv(rest); // algorithm
    let (_, rsa_key, _) = tlv(rest); // OCTET STRING
                                     // RSAPrivateKey ::= SEQUENCE { version, n, e, d, ... }
    let (_, seq, _) = tlv(rsa_key);
    let (_, _, rest) = tlv(seq);
    let (_, n, rest) = tlv(rest);
    let (_, _, rest) = tlv(rest);
    let (_, d, _) = tlv(rest);
    (BigUint::from_bytes_be(n), BigUint::from_bytes_be(d))
}

fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, header) = if input[1] < 0x80 {
        (usize::from(input[1]), 2)
    } else {
        let n = usize::from(input[1] & 0x7f);
        let len = input[2..2 + n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    (tag, &input[header..header + len], &input[header + len..])
}

/// Sends cert downloads to a local mock S3: `https://s3.amazonaws.com/X` is
/// fetched as `{mock}/X` by the production [`HttpsCertSource`] (through its
/// test-only constructor that also allows `http://127.0.0.1`), so statuses,
/// the retry and the size cap are handled exactly as in production.
pub struct MockS3 {
    base: url::Url,
    inner: alexa_endpoint::verify::HttpsCertSource,
}

impl MockS3 {
    pub fn new(server: &wiremock::MockServer, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            base: url::Url::parse(&server.uri()).expect("mock URL"),
            inner: alexa_endpoint::verify::HttpsCertSource::for_loopback_tests(timeout)
                .expect("source"),
        })
    }
}

#[async_trait::async_trait]
impl CertSource for MockS3 {
    async fn fetch(&self, url: &url::Url) -> Result<Bytes, FetchError> {
        let local = self.base.join(url.path()).expect("join path");
        self.inner.fetch(&local).await
    }
}

/// A cert source whose fetches hang until [`GatedSource::release`], then
/// answer 404; it records the URLs it was asked for.
pub struct GatedSource {
    asked: Mutex<Vec<String>>,
    asked_changed: tokio::sync::Notify,
    open: tokio::sync::watch::Sender<bool>,
}

impl GatedSource {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            asked: Mutex::default(),
            asked_changed: tokio::sync::Notify::new(),
            open: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The URLs fetched so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("lock").clone()
    }

    /// Wait until `n` fetches have started.
    pub async fn wait_for(&self, n: usize) {
        loop {
            let changed = self.asked_changed.notified();
            if self.asked.lock().expect("lock").len() >= n {
                return;
            }
            changed.await;
        }
    }

    /// Let every hanging and future fetch answer (404).
    pub fn release(&self) {
        self.open.send_replace(true);
    }
}

#[async_trait::async_trait]
impl CertSource for GatedSource {
    async fn fetch(&self, url: &url::Url) -> Result<Bytes, FetchError> {
        let mut open = self.open.subscribe();
        self.asked.lock().expect("lock").push(url.to_string());
        self.asked_changed.notify_waiters();
        let _ = open.wait_for(|open| *open).await;
        Err(FetchError::Status(404))
    }
}
