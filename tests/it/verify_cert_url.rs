//! Amazon's cert URL rules, table-driven, plus a never-panics property.

use alexa_endpoint::verify::{validate_cert_url, CertUrlError};
use proptest::prelude::*;

#[test]
fn amazon_valid_examples_are_accepted_and_normalised() {
    let cases = [
        (
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "HtTpS://S3.AmAzOnAwS.cOm:443/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com/echo.api/./x/%2e%2e/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem#frag",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
    ];
    for (raw, normalised) in cases {
        let url = validate_cert_url(raw).unwrap_or_else(|e| panic!("{raw}: rejected: {e}"));
        assert_eq!(url.as_str(), normalised, "{raw}");
    }
}

#[test]
fn invalid_urls_are_rejected_with_the_broken_rule() {
    use CertUrlError::*;
    let cases = [
        ("http://s3.amazonaws.com/echo.api/echo-api-cert.pem", Scheme),
        ("ftp://s3.amazonaws.com/echo.api/echo-api-cert.pem", Scheme),
        ("https://notamazon.com/echo.api/echo-api-cert.pem", Host),
        ("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem", Path),
        (
            "https://s3.amazonaws.com/invalid.path/echo-api-cert.pem",
            Path,
        ),
        (
            "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",
            Port,
        ),
        (
            "https://s3.amazonaws.com:80/echo.api/echo-api-cert.pem",
            Port,
        ),
        (
            "https://user@s3.amazonaws.com/echo.api/echo-api-cert.pem",
            Userinfo,
        ),
        (
            "https://user:pw@s3.amazonaws.com/echo.api/echo-api-cert.pem",
            Userinfo,
        ),
        ("https://52.216.8.5/echo.api/echo-api-cert.pem", IpHost),
        ("https://[2600:1fa0::1]/echo.api/echo-api-cert.pem", IpHost),
        (
            "https://s3.amazonaws.com.evil.com/echo.api/echo-api-cert.pem",
            Host,
        ),
        ("https://evil.com/s3.amazonaws.com/echo.api/x.pem", Host),
        ("https://s3.amazonaws.com@evil.com/echo.api/x.pem", Userinfo),
        ("https://s3.amazonaws.com./echo.api/echo-api-cert.pem", Host),
        ("https://s3.amazonaws.com/echo.api/../evil/x.pem", Path),
        ("https://s3.amazonaws.com/echo.api/%2e%2e/evil/x.pem", Path),
        ("https://s3.amazonaws.com/echo.api/%2E%2E/evil/x.pem", Path),
        ("https://s3.amazonaws.com/echo.api/.%2e/evil/x.pem", Path),
        ("https://s3.amazonaws.com/echo.api/..%2fevil/x.pem", Path),
        (
            "https://s3.amazonaws.com/echo.api/%2e%2e%2fevil/x.pem",
            Path,
        ),
        ("https://s3.amazonaws.com/echo.api/..%5cevil/x.pem", Path),
        (
            "https://s3.amazonaws.com/echo.api/%252e%252e%252fevil/x.pem",
            Path,
        ),
        ("https://s3.amazonaws.com/echo.api/a%2F..%2F..%2Fevil", Path),
        ("https://s3.amazonaws.com/echo.api", Path),
        ("https://s3.amazonaws.com//echo.api/x.pem", Path),
        ("https://s3.amazonaws.com/", Path),
        ("s3.amazonaws.com/echo.api/echo-api-cert.pem", Unparseable),
        ("", Unparseable),
        ("https://", Unparseable),
    ];
    for (raw, want) in cases {
        assert_eq!(validate_cert_url(raw).err(), Some(want), "{raw}");
    }
}

#[test]
fn overlong_url_is_rejected() {
    let raw = format!("https://s3.amazonaws.com/echo.api/{}.pem", "a".repeat(3000));
    assert_eq!(
        validate_cert_url(&raw).err(),
        Some(CertUrlError::Unparseable)
    );
    // Short enough raw, too long once percent-encoded (found by the fuzzer).
    let raw = format!("https://s3.amazonaws.com/echo.api/{}", "\u{e9}".repeat(500));
    assert!(raw.len() <= 2048);
    assert_eq!(
        validate_cert_url(&raw).err(),
        Some(CertUrlError::Unparseable)
    );
}

proptest! {
    #[test]
    fn validator_never_panics(raw in any::<String>()) {
        let _ = validate_cert_url(&raw);
    }

    #[test]
    fn validator_never_panics_on_url_like_input(
        scheme in "(?i)https?",
        host in "[a-zA-Z0-9.@:\\[\\]%]{0,30}",
        path in "[a-zA-Z0-9./%\\\\?#]{0,60}",
    ) {
        let raw = format!("{scheme}://{host}/{path}");
        if let Ok(url) = validate_cert_url(&raw) {
            // Whatever is accepted really is under Amazon's prefix.
            prop_assert_eq!(url.scheme(), "https");
            prop_assert_eq!(url.host_str(), Some("s3.amazonaws.com"));
            prop_assert!(url.path().starts_with("/echo.api/"));
        }
    }
}
