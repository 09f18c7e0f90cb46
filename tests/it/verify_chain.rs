//! Cert chains made with rcgen: good, expired, not yet valid, wrong SAN,
//! untrusted root, self-signed leaf, garbage; validity re-checked on hits.

use alexa_endpoint::dev::TestPki;
use alexa_endpoint::verify::VerifyError;
use time::Duration;

use super::verify_support::{now, signed, verifier, CountingSource, OTHER_PKI, PKI};

const BODY: &[u8] = br#"{"version":"1.0","request":{"type":"LaunchRequest"}}"#;

/// Verify `BODY` signed by `pki`, served `chain`, trusting `trusted`.
async fn check(pki: &TestPki, chain: &str, trusted: &[&TestPki]) -> Result<(), VerifyError> {
    let source = CountingSource::new(chain.to_owned());
    let v = verifier(trusted, |_| {}, source);
    v.verify_signature(&signed(pki, BODY), BODY, now()).await
}

#[tokio::test]
async fn good_chain_leaf_then_intermediate_verifies() {
    assert_eq!(check(&PKI, PKI.chain_pem(), &[&PKI]).await, Ok(()));
}

#[tokio::test]
async fn expired_leaf_is_rejected() {
    let n = now();
    let pki = TestPki::builder()
        .leaf_validity(n - Duration::days(10), n - Duration::days(1))
        .build()
        .expect("pki");
    assert_eq!(
        check(&pki, pki.chain_pem(), &[&pki]).await,
        Err(VerifyError::CertExpired)
    );
}

#[tokio::test]
async fn not_yet_valid_leaf_is_rejected() {
    let n = now();
    let pki = TestPki::builder()
        .leaf_validity(n + Duration::days(1), n + Duration::days(10))
        .build()
        .expect("pki");
    assert_eq!(
        check(&pki, pki.chain_pem(), &[&pki]).await,
        Err(VerifyError::CertNotYetValid)
    );
}

#[tokio::test]
async fn wrong_san_is_rejected() {
    let pki = TestPki::builder()
        .leaf_dns_names(["echo-api.example.com", "amazon.com"])
        .build()
        .expect("pki");
    assert_eq!(
        check(&pki, pki.chain_pem(), &[&pki]).await,
        Err(VerifyError::CertSubjectMismatch)
    );
}

#[tokio::test]
async fn wildcard_san_is_not_echo_api() {
    let pki = TestPki::builder()
        .leaf_dns_names(["*.amazon.com"])
        .build()
        .expect("pki");
    assert_eq!(
        check(&pki, pki.chain_pem(), &[&pki]).await,
        Err(VerifyError::CertSubjectMismatch)
    );
}

#[tokio::test]
async fn untrusted_root_is_rejected() {
    // PKI's chain, but only OTHER_PKI's root is trusted.
    let err = check(&PKI, PKI.chain_pem(), &[&OTHER_PKI])
        .await
        .expect_err("untrusted root");
    assert!(matches!(err, VerifyError::CertChainInvalid(_)), "{err:?}");
    // With no extra roots at all, only the web PKI roots are trusted.
    let err = check(&PKI, PKI.chain_pem(), &[])
        .await
        .expect_err("web PKI only");
    assert!(matches!(err, VerifyError::CertChainInvalid(_)), "{err:?}");
}

#[tokio::test]
async fn self_signed_leaf_is_rejected() {
    let pki = TestPki::builder().self_signed_leaf().build().expect("pki");
    let err = check(&pki, pki.chain_pem(), &[&pki])
        .await
        .expect_err("self-signed");
    assert!(matches!(err, VerifyError::CertChainInvalid(_)), "{err:?}");
}

#[tokio::test]
async fn leaf_without_its_intermediate_is_rejected() {
    let err = check(&PKI, PKI.leaf_pem(), &[&PKI])
        .await
        .expect_err("missing intermediate");
    assert!(matches!(err, VerifyError::CertChainInvalid(_)), "{err:?}");
}

#[tokio::test]
async fn chain_in_the_wrong_order_is_rejected() {
    let reversed = format!("{}{}", PKI.intermediate_pem(), PKI.leaf_pem());
    let err = check(&PKI, &reversed, &[&PKI])
        .await
        .expect_err("intermediate first");
    assert!(
        matches!(
            err,
            VerifyError::CertChainInvalid(_) | VerifyError::CertSubjectMismatch
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn garbage_pem_is_rejected() {
    for garbage in [
        "",
        "not a certificate at all",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIB",
    ] {
        let err = check(&PKI, garbage, &[&PKI])
            .await
            .expect_err("garbage must not verify");
        assert!(
            matches!(err, VerifyError::CertChainInvalid(_)),
            "{garbage:?}: {err:?}"
        );
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn expiry_is_rechecked_on_every_cache_hit() {
    let n = now();
    let pki = TestPki::builder()
        .leaf_validity(n - Duration::hours(1), n + Duration::hours(1))
        .build()
        .expect("pki");
    let source = CountingSource::chain(&pki);
    let v = verifier(&[&pki], |_| {}, source.clone());
    let headers = signed(&pki, BODY);

    assert_eq!(v.verify_signature(&headers, BODY, n).await, Ok(()));
    // Same URL, later: the cached chain has expired meanwhile.
    assert_eq!(
        v.verify_signature(&headers, BODY, n + Duration::hours(2))
            .await,
        Err(VerifyError::CertExpired)
    );
    // And earlier than notBefore.
    assert_eq!(
        v.verify_signature(&headers, BODY, n - Duration::hours(2))
            .await,
        Err(VerifyError::CertNotYetValid)
    );
    // Still inside the window: fine again, from the cache.
    assert_eq!(
        v.verify_signature(&headers, BODY, n + Duration::minutes(30))
            .await,
        Ok(())
    );
    assert_eq!(source.fetches(), 1, "the chain was downloaded once");
    let stats = v.cert_stats();
    assert_eq!((stats.hits, stats.misses, stats.downloads), (3, 1, 1));
}

#[tokio::test]
async fn exactly_at_not_after_is_still_valid() {
    let n = now().replace_nanosecond(0).expect("whole second");
    let pki = TestPki::builder()
        .leaf_validity(n - Duration::hours(1), n + Duration::hours(1))
        .build()
        .expect("pki");
    let v = verifier(&[&pki], |_| {}, CountingSource::chain(&pki));
    let headers = signed(&pki, BODY);
    let at = n + Duration::hours(1);
    assert_eq!(v.verify_signature(&headers, BODY, at).await, Ok(()));
    assert_eq!(
        v.verify_signature(&headers, BODY, at + Duration::seconds(1))
            .await,
        Err(VerifyError::CertExpired)
    );
}
