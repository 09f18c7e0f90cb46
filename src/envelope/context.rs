//! `session` and `context`: who is asking, from which skill and device, and
//! the credentials for calling Alexa APIs back.

use std::fmt;

use secrecy::SecretString;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::de::null_as_default;
use super::redact::Redacted;

/// The `session` object (absent for out-of-session requests such as
/// `Messaging.MessageReceived`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// `new`: whether this request starts a new session (default `false`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub new: bool,
    /// `sessionId`.
    #[serde(default)]
    pub session_id: Option<String>,
    /// `application` (holds the skill id).
    #[serde(default)]
    pub application: Option<Application>,
    /// `attributes`: the session attributes the skill returned earlier.
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
    /// `user`.
    #[serde(default)]
    pub user: Option<User>,
}

/// The `context` object. `System` is typed; every other context object
/// (`Viewport`, `AudioPlayer`, `Extensions`, ...) is kept raw in `other`.
#[derive(Clone, Default)]
pub struct Context {
    /// `context.System`.
    pub system: Option<SystemContext>,
    /// All other members of `context`, by name, as received.
    pub other: Map<String, Value>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("system", &self.system)
            .field("other", &Redacted(&self.other))
            .finish()
    }
}

// Hand-written rather than `#[serde(flatten)]`: flatten buffers the whole
// object first, which is slower and loses the field path in errors.
impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Context;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the context object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
                let mut ctx = Context::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "System" {
                        ctx.system = map.next_value()?;
                    } else {
                        let value = map.next_value()?;
                        ctx.other.insert(key, value);
                    }
                }
                Ok(ctx)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// `context.System`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemContext {
    /// `application` (holds the skill id).
    #[serde(default)]
    pub application: Option<Application>,
    /// `user`.
    #[serde(default)]
    pub user: Option<User>,
    /// `device`.
    #[serde(default)]
    pub device: Option<Device>,
    /// `apiEndpoint`: base URL for Alexa API calls, e.g. `https://api.amazonalexa.com`.
    #[serde(default)]
    pub api_endpoint: Option<String>,
    /// `apiAccessToken`: bearer token for Alexa APIs (valid 60 minutes; never
    /// log or persist it). Redacted in `Debug`.
    #[serde(default)]
    pub api_access_token: Option<SecretString>,
}

/// `application`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `applicationId`: the skill id, `amzn1.ask.skill.<uuid>`.
    pub application_id: String,
}

/// `user`. Every member is optional: Alexa sends `"user": {}` in some
/// requests (e.g. `CanFulfillIntentRequest` during skill certification).
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `userId`.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `accessToken`: the account-linking token. Redacted in `Debug`.
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// `permissions` as received (may hold a `consentToken`, redacted in `Debug`).
    #[serde(default)]
    pub permissions: Option<Value>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("user_id", &self.user_id)
            .field("access_token", &self.access_token)
            .field("permissions", &Redacted(&self.permissions))
            .finish()
    }
}

/// `device`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// `deviceId`.
    #[serde(default)]
    pub device_id: Option<String>,
    /// `supportedInterfaces` as received.
    #[serde(default)]
    pub supported_interfaces: Option<Value>,
}
