//! The token exfiltration guard: `apiAccessToken` only ever goes to an
//! `apiEndpoint` listed in `alexa_api.allowed_endpoints`.
//!
//! `apiEndpoint` comes from the request body. Verification makes it Alexa's,
//! but with verification off (local replay) or a bug elsewhere it is attacker
//! input, so the comparison is exact: only a single trailing slash is ignored.
//! No case folding, no prefix match, no URL "equivalence" — a look-alike that
//! a URL parser would normalise to an allowed value is still refused.

use super::http::trim_endpoint;
use super::ApiError;

/// The endpoints a token may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAllowlist {
    endpoints: Vec<String>,
}

impl EndpointAllowlist {
    /// An allowlist of these endpoints (e.g. `https://api.amazonalexa.com`).
    pub fn new<I, S>(endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            endpoints: endpoints
                .into_iter()
                .map(|e| trim_endpoint(e.as_ref()).to_owned())
                .collect(),
        }
    }

    /// The allowed endpoints, without trailing slashes.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// `Ok(base)` (without trailing slash) when `api_endpoint` is allowed,
    /// else [`ApiError::EndpointNotAllowed`].
    pub fn check(&self, api_endpoint: &str) -> Result<String, ApiError> {
        let wanted = trim_endpoint(api_endpoint);
        if !wanted.is_empty() && self.endpoints.iter().any(|e| e == wanted) {
            Ok(wanted.to_owned())
        } else {
            Err(ApiError::EndpointNotAllowed(api_endpoint.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_list() -> EndpointAllowlist {
        EndpointAllowlist::new([
            "https://api.amazonalexa.com",
            "https://api.eu.amazonalexa.com/",
        ])
    }

    #[test]
    fn exact_match_and_trailing_slash_only() {
        let list = default_list();
        for ok in [
            "https://api.amazonalexa.com",
            "https://api.amazonalexa.com/",
            "https://api.eu.amazonalexa.com",
        ] {
            assert!(list.check(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            list.check("https://api.amazonalexa.com/").ok().as_deref(),
            Some("https://api.amazonalexa.com")
        );
    }

    #[test]
    fn look_alikes_are_refused() {
        let list = default_list();
        for bad in [
            "",
            "/",
            "https://evil.example",
            "http://api.amazonalexa.com",
            "https://API.amazonalexa.com",
            "https://api.amazonalexa.com.evil.example",
            "https://api.amazonalexa.com@evil.example",
            "https://api.amazonalexa.com:443",
            "https://api.amazonalexa.com//",
            "https://api.amazonalexa.com/v2",
            "https://api.amazonalexa.com?x=1",
            "https://api.amazonalexa.com#x",
            " https://api.amazonalexa.com",
        ] {
            assert!(
                matches!(list.check(bad), Err(ApiError::EndpointNotAllowed(_))),
                "{bad:?} was allowed"
            );
        }
    }
}
