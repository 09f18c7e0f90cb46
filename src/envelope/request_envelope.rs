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

/// Everything of an envelope but its typed `request`: what a handler's
/// context keeps while the request itself is moved into the handler.
#[derive(Debug, Clone)]
pub struct EnvelopeInfo {
    /// `version`, normalised to a string.
    pub version: String,
    /// `session` (absent for out-of-session requests).
    pub session: Option<Session>,
    /// `context`.
    pub context: Option<Context>,
}

impl RequestEnvelope {
    /// Split into the typed request and the rest.
    pub fn into_parts(self) -> (EnvelopeInfo, Request) {
        let info = EnvelopeInfo {
            version: self.version,
            session: self.session,
            context: self.context,
        };
        (info, self.request)
    }

    /// The skill id: `context.System.application.applicationId`, else
    /// `session.application.applicationId`.
    pub fn skill_id(&self) -> Option<&str> {
        skill_id(self.session.as_ref(), self.context.as_ref())
    }

    /// The user id: `context.System.user.userId`, else `session.user.userId`
    /// (absent when Alexa sent no user or an empty one, `"user": {}`).
    pub fn user_id(&self) -> Option<&str> {
        user_id(self.session.as_ref(), self.context.as_ref())
    }

    /// `context.System.apiEndpoint`.
    pub fn api_endpoint(&self) -> Option<&str> {
        system(self.context.as_ref())?.api_endpoint.as_deref()
    }

    /// `context.System.apiAccessToken`: the bearer token for Alexa APIs.
    pub fn api_access_token(&self) -> Option<&SecretString> {
        system(self.context.as_ref())?.api_access_token.as_ref()
    }

    /// The account-linking token: `context.System.user.accessToken`, else
    /// `session.user.accessToken`.
    pub fn access_token(&self) -> Option<&SecretString> {
        access_token(self.session.as_ref(), self.context.as_ref())
    }
}

impl EnvelopeInfo {
    /// See [`RequestEnvelope::skill_id`].
    pub fn skill_id(&self) -> Option<&str> {
        skill_id(self.session.as_ref(), self.context.as_ref())
    }

    /// See [`RequestEnvelope::user_id`].
    pub fn user_id(&self) -> Option<&str> {
        user_id(self.session.as_ref(), self.context.as_ref())
    }

    /// See [`RequestEnvelope::api_endpoint`].
    pub fn api_endpoint(&self) -> Option<&str> {
        system(self.context.as_ref())?.api_endpoint.as_deref()
    }

    /// See [`RequestEnvelope::api_access_token`].
    pub fn api_access_token(&self) -> Option<&SecretString> {
        system(self.context.as_ref())?.api_access_token.as_ref()
    }

    /// See [`RequestEnvelope::access_token`].
    pub fn access_token(&self) -> Option<&SecretString> {
        access_token(self.session.as_ref(), self.context.as_ref())
    }
}

fn system(context: Option<&Context>) -> Option<&SystemContext> {
    context?.system.as_ref()
}

fn skill_id<'a>(session: Option<&'a Session>, context: Option<&'a Context>) -> Option<&'a str> {
    system(context)
        .and_then(|s| s.application.as_ref())
        .or_else(|| session?.application.as_ref())
        .map(|a| a.application_id.as_str())
}

fn user_id<'a>(session: Option<&'a Session>, context: Option<&'a Context>) -> Option<&'a str> {
    system(context)
        .and_then(|s| s.user.as_ref()?.user_id.as_deref())
        .or_else(|| session?.user.as_ref()?.user_id.as_deref())
}

fn access_token<'a>(
    session: Option<&'a Session>,
    context: Option<&'a Context>,
) -> Option<&'a SecretString> {
    system(context)
        .and_then(|s| s.user.as_ref()?.access_token.as_ref())
        .or_else(|| session?.user.as_ref()?.access_token.as_ref())
}
