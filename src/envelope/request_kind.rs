//! The request-type table: [`RequestKind`] and the [`Request`](super::Request)
//! enum are generated from one list (the `request_types!` invocation in
//! `request.rs`), so that parsing, routing, verification, metrics and logs
//! share one vocabulary.
//!
//! # Adding a request type
//!
//! It is one row in the table plus one struct, nothing else:
//!
//! 1. the struct, deriving `Deserialize`, with the common fields
//!    `request_id: String`, `timestamp: OffsetDateTime` (via
//!    `deserialize_with = "rfc3339"`) and `locale: Option<String>`, and an
//!    empty `impl RequestBody for NewRequest {}`;
//! 2. the row, e.g.
//!    `NewThing(NewRequest) { NewThing = "Alexa.NewThing" } answer: false, late: false;`.
//!
//! From the row alone, [`RequestKind::NewThing`] exists with its wire string,
//! `envelope::parse` builds `Request::NewThing`, verification applies its
//! timestamp tolerance (`late: true` allows [`LATE_TOLERANCE`]), metrics and
//! access logs label it with [`RequestKind::as_str`], and routing sends it to
//! the skill's fallback handler, else answers it by `answer` (500 when it
//! needs an answer and nobody handles it, else the empty 200). A family of
//! types sharing one struct (`AlexaSkillEvent.*`) lists several kinds in the
//! braces; its struct has a `kind: RequestKind` field
//! (`#[serde(skip, default = "RequestKind::unknown")]`) that parsing sets
//! from `type`. The unit test
//! `adding_a_request_type_is_one_row_and_one_struct` in `request.rs` does
//! exactly this with a table of its own.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ParseError;

/// How much older (or newer) than now an `AlexaSkillEvent.*` request may be:
/// Amazon may deliver these up to an hour late.
pub const LATE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(3600);

/// What the request table needs from a typed request struct.
pub(crate) trait RequestBody: DeserializeOwned {
    /// The struct's own rules beyond its serde shape (e.g. a size limit).
    fn validate(&self) -> Result<(), ParseError> {
        Ok(())
    }
}

/// How a parse pass turns JSON into a typed struct (with or without field
/// path tracking, see `parse.rs`).
pub(crate) trait Decode {
    /// Deserialize an owned value (moves its strings).
    fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ParseError>;
    /// Deserialize from a borrowed value.
    fn decode_ref<'a, T: serde::Deserialize<'a>>(value: &'a Value) -> Result<T, ParseError>;
}

/// Generates [`RequestKind`], `Request` and the per-type code from the table.
macro_rules! request_types {
    // The kind of a typed request: the row's only kind, or (a family row)
    // the one its struct stored in `kind`.
    (@kind_of $r:ident; $only:ident) => { RequestKind::$only };
    (@kind_of $r:ident; $first:ident $(, $more:ident)+) => { $r.kind };
    // After parsing: a family struct stores the kind named by `type`.
    (@set_kind $r:ident, $kind:ident; $only:ident) => {};
    (@set_kind $r:ident, $kind:ident; $first:ident $(, $more:ident)+) => { $r.kind = $kind; };
    (
        $(
            $(#[$vmeta:meta])*
            $variant:ident($ty:ty) {
                $( $(#[$kmeta:meta])* $kind:ident = $wire:literal ),+ $(,)?
            } answer: $answer:literal, late: $late:literal;
        )+
    ) => {
        /// The `type` of a request, one variant per type Alexa sends, plus
        /// [`RequestKind::Unknown`] for any other. Its [`as_str`](Self::as_str)
        /// is the wire type and the label used by metrics and logs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RequestKind {
            $( $( $(#[$kmeta])* $kind, )+ )+
            /// A type this crate does not know (label `other`).
            Unknown,
        }

        impl RequestKind {
            /// Every known kind, in table order (without `Unknown`).
            pub const ALL: &'static [RequestKind] = &[ $( $( RequestKind::$kind, )+ )+ ];

            /// The wire `type`, e.g. `Messaging.MessageReceived`; `other` for
            /// [`RequestKind::Unknown`].
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $( RequestKind::$kind => $wire, )+ )+
                    RequestKind::Unknown => "other",
                }
            }

            /// The kind of a wire `type`; `Unknown` for any other string.
            pub fn from_wire(request_type: &str) -> Self {
                match request_type {
                    $( $( $wire => RequestKind::$kind, )+ )+
                    _ => RequestKind::Unknown,
                }
            }

            /// Whether Alexa waits for a real answer: without a handler such a
            /// request answers 500; any other is acknowledged with an empty 200.
            pub const fn needs_answer(self) -> bool {
                match self {
                    $( $( RequestKind::$kind => $answer, )+ )+
                    RequestKind::Unknown => false,
                }
            }

            /// Whether Amazon may deliver it late (`AlexaSkillEvent.*`): its
            /// timestamp tolerance is at least [`LATE_TOLERANCE`](crate::envelope::LATE_TOLERANCE).
            pub const fn is_delivered_late(self) -> bool {
                match self {
                    $( $( RequestKind::$kind => $late, )+ )+
                    RequestKind::Unknown => false,
                }
            }

            /// The allowed clock difference for this kind, given the configured
            /// `verification.timestamp_tolerance_secs`.
            pub fn timestamp_tolerance(self, configured: std::time::Duration) -> std::time::Duration {
                if self.is_delivered_late() {
                    configured.max($crate::envelope::LATE_TOLERANCE)
                } else {
                    configured
                }
            }

            /// The placeholder of a family struct's `kind` before `set_kind`.
            pub const fn unknown() -> Self {
                RequestKind::Unknown
            }
        }

        impl std::fmt::Display for RequestKind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// The typed `request` object, by its `type`.
        #[derive(Debug, Clone)]
        pub enum Request {
            $( $(#[$vmeta])* $variant($ty), )+
            /// Any other `type`, kept raw.
            Unknown($crate::envelope::UnknownRequest),
        }

        impl Request {
            /// The kind of this request.
            pub fn kind(&self) -> RequestKind {
                match self {
                    $( Request::$variant(_r) => request_types!(@kind_of _r; $($kind),+), )+
                    Request::Unknown(_) => RequestKind::Unknown,
                }
            }

            /// `requestId`.
            pub fn request_id(&self) -> &str {
                match self {
                    $( Request::$variant(r) => &r.request_id, )+
                    Request::Unknown(r) => &r.request_id,
                }
            }

            /// `timestamp`.
            pub fn timestamp(&self) -> time::OffsetDateTime {
                match self {
                    $( Request::$variant(r) => r.timestamp, )+
                    Request::Unknown(r) => r.timestamp,
                }
            }

            /// `locale`, when sent.
            pub fn locale(&self) -> Option<&str> {
                match self {
                    $( Request::$variant(r) => r.locale.as_deref(), )+
                    Request::Unknown(r) => r.locale.as_deref(),
                }
            }

            /// Build the typed request of `kind` from the `request` object.
            pub(crate) fn decode<D: $crate::envelope::request_kind::Decode>(
                kind: RequestKind,
                request_type: &str,
                value: serde_json::Value,
            ) -> Result<Self, $crate::envelope::ParseError> {
                use $crate::envelope::request_kind::RequestBody as _;
                Ok(match kind {
                    $( $( RequestKind::$kind )|+ => {
                        #[allow(unused_mut)]
                        let mut r: $ty = D::decode(value)?;
                        request_types!(@set_kind r, kind; $($kind),+);
                        r.validate()?;
                        Request::$variant(r)
                    } )+
                    RequestKind::Unknown => Request::Unknown(
                        $crate::envelope::UnknownRequest::decode::<D>(request_type, value)?,
                    ),
                })
            }
        }
    };
}

pub(crate) use request_types;
