//! `[alexa_api]`: outbound calls to Alexa's REST APIs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::is_http_url;
use crate::config::units::{self, millis};
use crate::config::Problem;

/// `[alexa_api]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlexaApiConfig {
    /// The only `apiEndpoint` values a token is ever sent to.
    pub allowed_endpoints: Vec<String>,
    /// `timeout_ms`: timeout of every Alexa API call.
    #[serde(rename = "timeout_ms", with = "millis")]
    pub timeout: Duration,
}

impl AlexaApiConfig {
    /// Check what serde cannot: every endpoint is an http(s) URL, bounds.
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        if let Some(endpoint) = self.allowed_endpoints.iter().find(|e| !is_http_url(e)) {
            return Err(Problem::new(
                "alexa_api.allowed_endpoints",
                format!("{endpoint:?} is not an http(s) URL"),
            ));
        }
        units::millis_range("alexa_api.timeout_ms", self.timeout, 1, 60_000)
    }
}
