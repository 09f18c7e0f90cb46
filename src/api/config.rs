//! `[alexa_api]`: outbound calls to Alexa's REST APIs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
        for endpoint in &self.allowed_endpoints {
            match url::Url::parse(endpoint) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => {
                    return Err(Problem::new(
                        "alexa_api.allowed_endpoints",
                        format!("{endpoint:?} is not an http(s) URL"),
                    ))
                }
            }
        }
        units::millis_range("alexa_api.timeout_ms", self.timeout, 1, 60_000)
    }
}
