//! The parsed request envelope and its accessors for the fields every
//! handler needs (skill id, user id, API endpoint and tokens).

use secrecy::SecretString;

use super::context::{Context, Session, SystemContext};
use super::request::Request;

/// A parsed request envelope: what Alexa POSTs to the endpoint.
#[derive(Debug, Clone)]
pub struct RequestEnvelope {
    /// `version`, normalised to a string (`"1.0"` whether sent as the string
    /// `"1.0"` or the number `1.0`).
    pub version: String,
    /// `session` (absent for out-of-session requests).
    pub session: Option<Session>,
    /// `context`.
    pub context: Option<Context>,
    /// `request`, typed by its `type`.
    pub request: Request,
}

impl RequestEnvelope {
    fn system(&self) -> Option<&SystemContext> {
        self.context.as_ref()?.system.as_ref()
    }

    /// The skill id: `context.System.application.applicationId`, else
    /// `session.application.applicationId`.
    pub fn skill_id(&self) -> Option<&str> {
        self.system()
            .and_then(|s| s.application.as_ref())
            .or_else(|| self.session.as_ref()?.application.as_ref())
            .map(|a| a.application_id.as_str())
    }

    /// The user id: `context.System.user.userId`, else `session.user.userId`.
    pub fn user_id(&self) -> Option<&str> {
        self.system()
            .and_then(|s| s.user.as_ref())
            .or_else(|| self.session.as_ref()?.user.as_ref())
            .map(|u| u.user_id.as_str())
    }

    /// `context.System.apiEndpoint`.
    pub fn api_endpoint(&self) -> Option<&str> {
        self.system()?.api_endpoint.as_deref()
    }

    /// `context.System.apiAccessToken`: the bearer token for Alexa APIs.
    pub fn api_access_token(&self) -> Option<&SecretString> {
        self.system()?.api_access_token.as_ref()
    }

    /// The account-linking token: `context.System.user.accessToken`, else
    /// `session.user.accessToken`.
    pub fn access_token(&self) -> Option<&SecretString> {
        self.system()
            .and_then(|s| s.user.as_ref()?.access_token.as_ref())
            .or_else(|| self.session.as_ref()?.user.as_ref()?.access_token.as_ref())
    }
}
