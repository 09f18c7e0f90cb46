//! Fuzz the `SignatureCertChainUrl` validator: it must never panic, and
//! whatever it accepts must really be an `https://s3.amazonaws.com/echo.api/`
//! URL whose normalised form validates to itself.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run cert_url -- -max_total_time=60`
#![no_main]

use alexa_endpoint::verify::validate_cert_url;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = validate_cert_url(raw) {
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.host_str(), Some("s3.amazonaws.com"));
        assert_eq!(url.port(), None);
        assert!(url.username().is_empty() && url.password().is_none());
        assert!(url.path().starts_with("/echo.api/"));
        assert!(url.fragment().is_none());
        let again = validate_cert_url(url.as_str()).expect("normalised URL is accepted");
        assert_eq!(again, url);
    }
});
