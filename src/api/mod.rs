//! Clients for Alexa's REST APIs: List Management (with the request's
//! `apiAccessToken`), Login with Amazon tokens and the Skill Messaging API.
//!
//! INTERFACE CONTRACT (stub — to be implemented in full by the api work).

use std::sync::Arc;

use secrecy::SecretString;

use crate::config::AlexaApiConfig;

/// Errors of every Alexa API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `apiEndpoint` is not in `alexa_api.allowed_endpoints`: nothing was sent.
    #[error("apiEndpoint {0:?} is not in alexa_api.allowed_endpoints; the token was not sent")]
    EndpointNotAllowed(String),
    /// The request carried no `apiAccessToken`.
    #[error("the request carries no apiAccessToken")]
    NoToken,
}

/// Shared state of all Alexa API clients: one HTTP client and the endpoint
/// allowlist. Cheap to clone.
#[derive(Clone)]
pub struct AlexaApi {
    inner: Arc<AlexaApiConfig>,
}

impl AlexaApi {
    /// Build from `[alexa_api]`.
    pub fn new(cfg: &AlexaApiConfig) -> Result<Self, ApiError> {
        Ok(Self {
            inner: Arc::new(cfg.clone()),
        })
    }

    /// A List Management client for one request's endpoint and token.
    /// Fails (and sends nothing) unless `api_endpoint` is allowed.
    pub fn lists(&self, api_endpoint: &str, _token: SecretString) -> Result<ListsClient, ApiError> {
        if !self
            .inner
            .allowed_endpoints
            .iter()
            .any(|e| e == api_endpoint)
        {
            return Err(ApiError::EndpointNotAllowed(api_endpoint.to_owned()));
        }
        Ok(ListsClient {})
    }
}

/// List Management API client bound to one request's token.
pub struct ListsClient {}
