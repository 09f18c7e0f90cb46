//! `parse`: raw body bytes to a [`RequestEnvelope`], with errors that name
//! the offending field.

use std::fmt;
use std::io;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::context::{Context, Session};
use super::de::version;
use super::events::{
    EventFields, ListEventKind, ListEventRequest, SkillEventKind, SkillEventRequest,
};
use super::request::{CommonFields, Request, UnknownRequest};
use super::MAX_MESSAGE_BYTES;

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
    fn system(&self) -> Option<&super::SystemContext> {
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

const MAX_ERROR_MESSAGE_BYTES: usize = 200;

/// Why a body could not be parsed; see [`ParseError::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// Not JSON, truncated, trailing data, or an empty body.
    MalformedJson,
    /// A required field is absent.
    MissingField,
    /// A field has the wrong JSON type or an invalid format.
    InvalidField,
    /// `request.message` serializes to more than [`MAX_MESSAGE_BYTES`].
    MessageTooLarge,
}

impl ParseErrorKind {
    /// The machine-readable reason, as used in error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::MissingField => "missing_field",
            Self::InvalidField => "invalid_field",
            Self::MessageTooLarge => "message_too_large",
        }
    }
}

/// A request body that is not a valid envelope. `Display` names the field
/// path, e.g. `request.timestamp: invalid RFC 3339 timestamp ...`; it never
/// contains a token.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ParseError {
    kind: ParseErrorKind,
    path: String,
    message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "request body: {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl ParseError {
    /// `"malformed_json"`, `"missing_field"`, `"invalid_field"` or `"message_too_large"`.
    pub fn reason(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The kind of error.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// The dotted path of the offending field (`request.requestId`), or `""`
    /// when the body as a whole is at fault.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn new(kind: ParseErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        let mut message = message.into();
        // serde quotes offending values in its messages: keep a huge one out
        // of logs and error bodies.
        if message.len() > MAX_ERROR_MESSAGE_BYTES {
            let mut cut = MAX_ERROR_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        Self {
            kind,
            path: path.into(),
            message,
        }
    }

    /// Converts a path-tracked serde_json error; `prefix` is prepended to its path.
    fn from_json(prefix: &str, err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = join(prefix, &path_string(err.path()));
        let inner = err.into_inner();
        if !inner.is_data() {
            // Syntax, EOF (including an empty body), I/O.
            return Self::new(ParseErrorKind::MalformedJson, path, inner.to_string());
        }
        let mut message = inner.to_string();
        if inner.line() != 0 {
            let suffix = format!(" at line {} column {}", inner.line(), inner.column());
            if message.ends_with(&suffix) {
                message.truncate(message.len() - suffix.len());
            }
        }
        // serde reports a missing field at its parent's path, as
        // "missing field `name`": move the name into the path.
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return Self::new(
                ParseErrorKind::MissingField,
                join(&path, field),
                "required field is missing",
            );
        }
        Self::new(ParseErrorKind::InvalidField, path, message)
    }
}

/// `context.System.user`-style path; stops at a segment serde could not
/// name (an object key not read yet when the JSON broke off).
fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let part = match segment {
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Seq { index } => index.to_string(),
            Segment::Unknown => break,
        };
        out = join(&out, &part);
    }
    out
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (false, true) => a.to_owned(),
        (false, false) => format!("{a}.{b}"),
    }
}

/// The envelope with `request` left as JSON until its `type` is known.
#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(deserialize_with = "version")]
    version: String,
    #[serde(default)]
    session: Option<Session>,
    #[serde(default)]
    context: Option<Context>,
    request: Value,
}

/// Accepts only a JSON object for `T` (serde's derive would also take an
/// array of the fields in order, which no Alexa request is).
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Parses a request body. Unknown fields are ignored, unknown request types
/// become [`Request::Unknown`], unknown enum values become `Other(..)`.
pub fn parse(body: &[u8]) -> Result<RequestEnvelope, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let ObjectOnly(raw): ObjectOnly<RawEnvelope> =
        serde_path_to_error::deserialize(&mut de).map_err(|e| ParseError::from_json("", e))?;
    de.end()
        .map_err(|e| ParseError::new(ParseErrorKind::MalformedJson, "", e.to_string()))?;
    Ok(RequestEnvelope {
        version: raw.version,
        session: raw.session,
        context: raw.context,
        request: parse_request(raw.request)?,
    })
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(|e| ParseError::from_json("request", e))
}

fn parse_request(value: Value) -> Result<Request, ParseError> {
    let Value::Object(obj) = &value else {
        return Err(ParseError::new(
            ParseErrorKind::InvalidField,
            "request",
            "expected an object",
        ));
    };
    let request_type = match obj.get("type") {
        Some(Value::String(t)) => t,
        None => {
            return Err(ParseError::new(
                ParseErrorKind::MissingField,
                "request.type",
                "required field is missing",
            ))
        }
        Some(_) => {
            return Err(ParseError::new(
                ParseErrorKind::InvalidField,
                "request.type",
                "expected a string",
            ))
        }
    };
    Ok(match request_type.as_str() {
        Request::LAUNCH => Request::Launch(typed(value)?),
        Request::INTENT => Request::Intent(typed(value)?),
        Request::SESSION_ENDED => Request::SessionEnded(typed(value)?),
        Request::CAN_FULFILL_INTENT => Request::CanFulfillIntent(typed(value)?),
        Request::MESSAGE_RECEIVED => {
            let r: super::MessageReceivedRequest = typed(value)?;
            check_message_size(&r.message)?;
            Request::MessageReceived(r)
        }
        Request::EXCEPTION_ENCOUNTERED => Request::ExceptionEncountered(typed(value)?),
        Request::CONNECTIONS_RESPONSE => Request::ConnectionsResponse(typed(value)?),
        t => {
            if let Some(kind) = SkillEventKind::from_request_type(t) {
                Request::SkillEvent(SkillEventRequest::new(kind, typed::<EventFields>(value)?))
            } else if let Some(kind) = ListEventKind::from_request_type(t) {
                Request::ListEvent(ListEventRequest::new(kind, typed::<EventFields>(value)?))
            } else {
                let request_type = t.to_owned();
                let common: CommonFields = serde_path_to_error::deserialize(&value)
                    .map_err(|e| ParseError::from_json("request", e))?;
                Request::Unknown(UnknownRequest {
                    request_type,
                    request_id: common.request_id,
                    timestamp: common.timestamp,
                    locale: common.locale,
                    raw: value,
                })
            }
        }
    })
}

/// A writer that only counts, and gives up once past the limit so a huge
/// message is not serialized in full.
struct Counter {
    n: usize,
    limit: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.n += buf.len();
        if self.n > self.limit {
            return Err(io::Error::other("limit exceeded"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The compact-serialized size of `message`, capped just past `limit`
/// (a result above `limit` means "too large", not the exact size).
pub(crate) fn serialized_size_capped(message: &Value, limit: usize) -> usize {
    let mut counter = Counter { n: 0, limit };
    match serde_json::to_writer(&mut counter, message) {
        Ok(()) => counter.n,
        Err(_) => counter.n.max(limit + 1),
    }
}

fn check_message_size(message: &Value) -> Result<(), ParseError> {
    let size = serialized_size_capped(message, MAX_MESSAGE_BYTES);
    if size > MAX_MESSAGE_BYTES {
        return Err(ParseError::new(
            ParseErrorKind::MessageTooLarge,
            "request.message",
            format!("serialized message exceeds the {MAX_MESSAGE_BYTES}-byte limit"),
        ));
    }
    Ok(())
}
