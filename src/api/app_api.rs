//! [`AppApi`]: the part the skill-level clients share — the Skill Messaging
//! and Proactive Events APIs, called with the skill's own Login with Amazon
//! token instead of a request's `apiAccessToken` (that is [`super::http::UserApi`]).

use std::fmt;

use reqwest::Method;
use secrecy::ExposeSecret;

use super::http::{is_http_url, trim_endpoint, Http};
use super::retry::Idempotency;
use super::{ApiError, LwaClient};

/// An API endpoint, the LWA client whose tokens authorise calls to it, and
/// the call policy (observers, deadline).
#[derive(Clone)]
pub(crate) struct AppApi {
    pub(crate) http: Http,
    pub(crate) lwa: LwaClient,
    pub(crate) base: String,
}

impl fmt::Debug for AppApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppApi")
            .field("endpoint", &self.base)
            .field("lwa", &self.lwa)
            .finish()
    }
}

impl AppApi {
    /// Fails unless `api_endpoint` is an http(s) URL.
    pub(crate) fn new(
        lwa: LwaClient,
        api_endpoint: &str,
        http: reqwest::Client,
    ) -> Result<Self, ApiError> {
        if !is_http_url(api_endpoint) {
            return Err(ApiError::InvalidInput(format!(
                "API endpoint {api_endpoint:?} is not an http(s) URL"
            )));
        }
        Ok(Self {
            http: Http::new(http),
            lwa,
            base: trim_endpoint(api_endpoint).to_owned(),
        })
    }

    /// `POST {base}{path}` with a JSON body and a token from `lwa` (fetched
    /// within the deadline). Not idempotent: retried only where Alexa cannot
    /// have taken it. A 401 drops the cached token, so the next call fetches
    /// a fresh one.
    pub(crate) async fn post<B: serde::Serialize + ?Sized>(
        &self,
        api: &'static str,
        path: &str,
        body: &B,
    ) -> Result<(), ApiError> {
        let token = self.lwa.access_token_until(self.http.deadline).await?;
        let request = self
            .http
            .client
            .request(Method::POST, format!("{}{path}", self.base))
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(body);
        match self
            .http
            .execute(api, Idempotency::NonIdempotent, request)
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ ApiError::Unauthorized { .. }) => {
                self.lwa.invalidate().await;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}
