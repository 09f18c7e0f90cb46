//! Request envelopes (what Alexa POSTs) and response envelopes (what the
//! skill answers), following these parsing rules:
//!
//! - `version` may be the string `"1.0"` or the number `1.0`;
//! - `request.message` is any JSON value of at most [`MAX_MESSAGE_BYTES`]
//!   serialized;
//! - timestamps are RFC 3339, with or without fractional seconds;
//! - unknown fields are ignored, unknown request types parse to
//!   [`Request::Unknown`], unknown enum values to `Other(..)`;
//! - every error names the offending field ([`ParseError::path`]);
//! - a key repeated in any object is refused (`duplicate_field`), as is a
//!   `requestId` over [`MAX_REQUEST_ID_BYTES`];
//! - `apiAccessToken` and `accessToken` are [`SecretString`]s, redacted in
//!   `Debug` (as are token-like keys inside raw JSON fields).
//!
//! ```
//! let body = br#"{"version":1.0,"request":{"type":"Messaging.MessageReceived",
//!   "requestId":"r1","timestamp":"2022-10-03T16:20:50.52Z","message":{"k":"v"}}}"#;
//! let envelope = alexa_endpoint::envelope::parse(body).unwrap();
//! assert_eq!(envelope.request.request_type(), "Messaging.MessageReceived");
//! let ack = alexa_endpoint::envelope::Response::ack().to_bytes().unwrap();
//! assert_eq!(ack, br#"{"version":"1.0","response":{}}"#);
//! ```

mod context;
mod de;
mod enums;
mod error;
mod events;
mod intent;
mod parse;
mod redact;
mod request;
mod request_envelope;
mod request_kind;
mod response;
mod unique_keys;

pub use secrecy::SecretString;

pub use context::{Application, Context, Device, Session, SystemContext, User};
pub use enums::{ConfirmationStatus, DialogState, ErrorType, SessionEndedReason};
pub use error::{ParseError, ParseErrorKind};
pub use events::{ListEventRequest, SkillEventRequest};
pub use intent::{CanFulfillIntentRequest, Intent, IntentRequest, Slot};
#[doc(hidden)]
pub use parse::duplicate_key_pass;
pub use parse::parse;
pub use request::{
    ConnectionsResponseRequest, ExceptionEncounteredRequest, LaunchRequest, MessageReceivedRequest,
    Request, RequestKind, SessionEndedError, SessionEndedRequest, UnknownRequest,
};
pub use request_envelope::{EnvelopeInfo, RequestEnvelope};
pub use request_kind::LATE_TOLERANCE;
pub use response::{Response, ResponseBuilder, ResponseTooLarge};

/// Maximum compact-serialized size of `request.message` (6 KB).
pub const MAX_MESSAGE_BYTES: usize = 6 * 1024;

/// Longest accepted `request.requestId`, in bytes (Alexa's are about 70).
pub const MAX_REQUEST_ID_BYTES: usize = 256;

/// Alexa's maximum response size (24 KB).
pub const MAX_RESPONSE_BYTES: usize = 24 * 1024;
