//! Signature headers and RSA verification over the raw body.

use alexa_endpoint::verify::{
    CertUrlError, VerifyError, CERT_URL_HEADER, SIGNATURE_256_HEADER, SIGNATURE_SHA1_HEADER,
};
use http::HeaderValue;

use super::verify_support::{now, signed, signed_sha1, verifier, CountingSource, OTHER_PKI, PKI};

const BODY: &[u8] = br#"{"version":"1.0","request":{"type":"LaunchRequest","requestId":"r1"}}"#;

#[tokio::test]
async fn good_signature_verifies() {
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    assert_eq!(
        v.verify_signature(&signed(&PKI, BODY), BODY, now()).await,
        Ok(())
    );
}

#[tokio::test]
async fn tampered_body_is_rejected() {
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    let headers = signed(&PKI, BODY);
    let mut tampered = BODY.to_vec();
    tampered[BODY.len() - 3] = b'2';
    assert_eq!(
        v.verify_signature(&headers, &tampered, now()).await,
        Err(VerifyError::SignatureMismatch)
    );
    // Even whitespace matters: the signature is over the raw bytes.
    let mut spaced = BODY.to_vec();
    spaced.push(b'\n');
    assert_eq!(
        v.verify_signature(&headers, &spaced, now()).await,
        Err(VerifyError::SignatureMismatch)
    );
}

#[tokio::test]
async fn signature_by_another_key_is_rejected() {
    // Chain of PKI, signature made with OTHER_PKI's leaf key.
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    assert_eq!(
        v.verify_signature(&signed(&OTHER_PKI, BODY), BODY, now())
            .await,
        Err(VerifyError::SignatureMismatch)
    );
}

#[tokio::test]
async fn bad_base64_is_rejected_before_any_download() {
    let source = CountingSource::chain(&PKI);
    let v = verifier(&[&PKI], |_| {}, source.clone());
    for bad in ["not base64!!", "", "   ", "QUJD*", &"A".repeat(2000)] {
        let mut headers = signed(&PKI, BODY);
        headers.insert(
            SIGNATURE_256_HEADER,
            HeaderValue::from_str(bad).expect("header value"),
        );
        assert_eq!(
            v.verify_signature(&headers, BODY, now()).await,
            Err(VerifyError::SignatureEncoding),
            "{bad:?}"
        );
    }
    assert_eq!(source.fetches(), 0);
}

#[tokio::test]
async fn valid_base64_of_garbage_is_a_mismatch() {
    let v = verifier(&[&PKI], |_| {}, CountingSource::chain(&PKI));
    let mut headers = signed(&PKI, BODY);
    headers.insert(SIGNATURE_256_HEADER, HeaderValue::from_static("QUJDRA=="));
    assert_eq!(
        v.verify_signature(&headers, BODY, now()).await,
        Err(VerifyError::SignatureMismatch)
    );
}

#[tokio::test]
async fn missing_headers_are_rejected() {
    let source = CountingSource::chain(&PKI);
    let v = verifier(&[&PKI], |_| {}, source.clone());

    let mut no_url = signed(&PKI, BODY);
    no_url.remove(CERT_URL_HEADER);
    assert_eq!(
        v.verify_signature(&no_url, BODY, now()).await,
        Err(VerifyError::MissingCertUrl)
    );

    let mut no_sig = signed(&PKI, BODY);
    no_sig.remove(SIGNATURE_256_HEADER);
    assert_eq!(
        v.verify_signature(&no_sig, BODY, now()).await,
        Err(VerifyError::MissingSignature)
    );

    assert_eq!(
        v.verify_signature(&http::HeaderMap::new(), BODY, now())
            .await,
        Err(VerifyError::MissingCertUrl)
    );
    assert_eq!(source.fetches(), 0);
}

#[tokio::test]
async fn bad_cert_url_is_rejected_before_any_download() {
    let source = CountingSource::chain(&PKI);
    let v = verifier(&[&PKI], |_| {}, source.clone());
    let mut headers = signed(&PKI, BODY);
    headers.insert(
        CERT_URL_HEADER,
        HeaderValue::from_static("https://s3.amazonaws.com/echo.api/../evil/cert.pem"),
    );
    let err = v
        .verify_signature(&headers, BODY, now())
        .await
        .expect_err("bad URL");
    assert_eq!(err, VerifyError::CertUrl(CertUrlError::Path));
    assert_eq!(err.reason(), "cert_url_not_allowed");
    assert!(!err.is_transient());
    assert_eq!(source.fetches(), 0);
}

#[tokio::test]
async fn sha1_only_is_rejected_by_default() {
    let source = CountingSource::chain(&PKI);
    let v = verifier(&[&PKI], |_| {}, source.clone());
    assert_eq!(
        v.verify_signature(&signed_sha1(&PKI, BODY), BODY, now())
            .await,
        Err(VerifyError::LegacySignatureNotAccepted)
    );
    assert_eq!(source.fetches(), 0);
}

#[tokio::test]
async fn sha1_is_accepted_with_the_flag() {
    let v = verifier(
        &[&PKI],
        |c| c.accept_legacy_sha1 = true,
        CountingSource::chain(&PKI),
    );
    assert_eq!(
        v.verify_signature(&signed_sha1(&PKI, BODY), BODY, now())
            .await,
        Ok(())
    );
    let mut tampered = BODY.to_vec();
    tampered[0] = b' ';
    assert_eq!(
        v.verify_signature(&signed_sha1(&PKI, BODY), &tampered, now())
            .await,
        Err(VerifyError::SignatureMismatch)
    );
}

#[tokio::test]
async fn sha1_is_ignored_when_signature_256_is_present() {
    let v = verifier(
        &[&PKI],
        |c| c.accept_legacy_sha1 = true,
        CountingSource::chain(&PKI),
    );
    // A good SHA-1 signature does not rescue a bad Signature-256.
    let mut headers = signed_sha1(&PKI, BODY);
    let other = signed(&OTHER_PKI, BODY);
    headers.insert(
        SIGNATURE_256_HEADER,
        other
            .get(SIGNATURE_256_HEADER)
            .expect("signature header")
            .clone(),
    );
    assert_eq!(
        v.verify_signature(&headers, BODY, now()).await,
        Err(VerifyError::SignatureMismatch)
    );
    // Both good: fine (Signature-256 is the one checked).
    let mut both = signed(&PKI, BODY);
    both.insert(
        SIGNATURE_SHA1_HEADER,
        HeaderValue::from_static("bm90IGEgc2lnbmF0dXJl"),
    );
    assert_eq!(v.verify_signature(&both, BODY, now()).await, Ok(()));
}

#[test]
fn reasons_and_statuses() {
    assert_eq!(
        VerifyError::SignatureMismatch.reason(),
        "signature_mismatch"
    );
    assert_eq!(VerifyError::MissingSignature.reason(), "missing_signature");
    let download = VerifyError::CertDownload("timeout".into());
    assert_eq!(download.reason(), "cert_download_failed");
    assert!(download.is_transient());
    assert_eq!(VerifyError::CertNotFound(404).reason(), "cert_not_found");
    assert!(!VerifyError::CertNotFound(404).is_transient());
    let saturated = VerifyError::CertDownloadsSaturated;
    assert_eq!(saturated.reason(), "cert_downloads_saturated");
    assert!(saturated.is_transient());
    assert!(!VerifyError::CertExpired.is_transient());
    assert!(!VerifyError::StaleTimestamp.is_transient());
}
