//! `parse`: raw body bytes to a [`RequestEnvelope`], with errors that name
//! the offending field.
//!
//! Path tracking (`serde_path_to_error`) costs an allocation per map key and
//! a wrapper around every visit, so a body is parsed with plain serde_json
//! first: exactly the same steps and types, only without tracking. Only when
//! that fails is the body parsed again with tracking, which yields the
//! field-naming error. A body that passes one pass passes the other with the
//! same result, so the fast pass changes no answer and no error.
//!
//! Two input caps apply to every body, whichever pass parsed it: a key
//! repeated in any object is refused (serde would keep the last one
//! silently; see `unique_keys`), and so is a `requestId` over
//! [`MAX_REQUEST_ID_BYTES`] (it becomes a log field and a dedup key).

use std::fmt;
use std::io;

use serde::Deserialize;
use serde_json::Value;

use super::context::{Context, Session};
use super::de::version;
use super::error::{ParseError, ParseErrorKind};
use super::request::{Request, RequestKind};
use super::request_envelope::RequestEnvelope;
use super::request_kind::Decode;
use super::unique_keys::find_duplicate_key;
use super::{MAX_MESSAGE_BYTES, MAX_REQUEST_ID_BYTES};

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
/// A key repeated in any object is a [`ParseErrorKind::DuplicateField`]
/// error, a `requestId` over [`MAX_REQUEST_ID_BYTES`] a
/// [`ParseErrorKind::RequestIdTooLong`] one.
pub fn parse(body: &[u8]) -> Result<RequestEnvelope, ParseError> {
    let fast = parse_with::<Plain>(body);
    if let Some(duplicate) = find_duplicate_key(body) {
        return Err(duplicate);
    }
    let envelope = match fast {
        Ok(envelope) => envelope,
        Err(_) => parse_with::<Tracked>(body)?,
    };
    check_request_id(envelope.request.request_id())?;
    Ok(envelope)
}

/// The duplicate-key pass on its own, for the parse benchmark: `Some` when
/// a key repeats. Not part of the supported API.
#[doc(hidden)]
pub fn duplicate_key_pass(body: &[u8]) -> Option<ParseError> {
    find_duplicate_key(body)
}

fn check_request_id(request_id: &str) -> Result<(), ParseError> {
    if request_id.len() > MAX_REQUEST_ID_BYTES {
        return Err(ParseError::new(
            ParseErrorKind::RequestIdTooLong,
            "request.requestId",
            format!("longer than {MAX_REQUEST_ID_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// How a pass deserializes: plain (fast, with a placeholder error) or with
/// the field path (for the error the caller sees).
trait Pass: Decode {
    fn envelope(body: &[u8]) -> Result<RawEnvelope, ParseError>;
}

/// No path tracking; its errors are never shown (the tracked pass re-runs).
struct Plain;

fn untracked(_: serde_json::Error) -> ParseError {
    ParseError::new(ParseErrorKind::MalformedJson, "", "")
}

impl Pass for Plain {
    fn envelope(body: &[u8]) -> Result<RawEnvelope, ParseError> {
        let ObjectOnly(raw) = serde_json::from_slice(body).map_err(untracked)?;
        Ok(raw)
    }
}

impl Decode for Plain {
    fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ParseError> {
        T::deserialize(value).map_err(untracked)
    }
    fn decode_ref<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, ParseError> {
        T::deserialize(value).map_err(untracked)
    }
}

/// With `serde_path_to_error`: errors name the field.
struct Tracked;

impl Pass for Tracked {
    fn envelope(body: &[u8]) -> Result<RawEnvelope, ParseError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let ObjectOnly(raw): ObjectOnly<RawEnvelope> =
            serde_path_to_error::deserialize(&mut de).map_err(|e| ParseError::from_json("", e))?;
        de.end()
            .map_err(|e| ParseError::new(ParseErrorKind::MalformedJson, "", e.to_string()))?;
        Ok(raw)
    }
}

impl Decode for Tracked {
    fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ParseError> {
        serde_path_to_error::deserialize(value).map_err(|e| ParseError::from_json("request", e))
    }
    fn decode_ref<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, ParseError> {
        serde_path_to_error::deserialize(value).map_err(|e| ParseError::from_json("request", e))
    }
}

fn parse_with<P: Pass>(body: &[u8]) -> Result<RequestEnvelope, ParseError> {
    let raw = P::envelope(body)?;
    Ok(RequestEnvelope {
        version: raw.version,
        session: raw.session,
        context: raw.context,
        request: parse_request::<P>(raw.request)?,
    })
}

fn parse_request<P: Pass>(value: Value) -> Result<Request, ParseError> {
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
    let kind = RequestKind::from_wire(request_type);
    // Only an unknown type keeps its string (known ones are `kind.as_str()`).
    let unknown_type = if kind == RequestKind::Unknown {
        request_type.clone()
    } else {
        String::new()
    };
    Request::decode::<P>(kind, &unknown_type, value)
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

pub(crate) fn check_message_size(message: &Value) -> Result<(), ParseError> {
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
