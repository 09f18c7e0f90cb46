//! String-valued enums that never fail to parse: a value this crate does not
//! know yet is kept as `Other(String)`, because Amazon adds values over time
//! and a new one must not turn a valid request into a 400.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Declares an open enum: known wire strings map to unit variants, anything
/// else to `Other(String)`. Generates `as_str`, `Display`, `Serialize` and a
/// borrowing `Deserialize` (no allocation for known values).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(s) => s,
                }
            }

            fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_wire(v))
                    }
                    fn visit_string<E: de::Error>(self, v: String) -> Result<$name, E> {
                        // Reuse the allocation for unknown values.
                        Ok(match $name::from_wire(&v) {
                            $name::Other(_) => $name::Other(v),
                            known => known,
                        })
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

open_enum! {
    /// `request.dialogState` of an `IntentRequest`.
    DialogState {
        /// `STARTED`
        Started => "STARTED",
        /// `IN_PROGRESS`
        InProgress => "IN_PROGRESS",
        /// `COMPLETED`
        Completed => "COMPLETED",
    }
}

open_enum! {
    /// `confirmationStatus` of an intent or a slot.
    ConfirmationStatus {
        /// `NONE`
        None => "NONE",
        /// `CONFIRMED`
        Confirmed => "CONFIRMED",
        /// `DENIED`
        Denied => "DENIED",
    }
}

open_enum! {
    /// `request.reason` of a `SessionEndedRequest`.
    SessionEndedReason {
        /// `USER_INITIATED`
        UserInitiated => "USER_INITIATED",
        /// `ERROR`
        Error => "ERROR",
        /// `EXCEEDED_MAX_REPROMPTS`
        ExceededMaxReprompts => "EXCEEDED_MAX_REPROMPTS",
    }
}

open_enum! {
    /// `request.error.type` of a `SessionEndedRequest`.
    ErrorType {
        /// `INVALID_RESPONSE`
        InvalidResponse => "INVALID_RESPONSE",
        /// `DEVICE_COMMUNICATION_ERROR`
        DeviceCommunicationError => "DEVICE_COMMUNICATION_ERROR",
        /// `INTERNAL_SERVICE_ERROR`
        InternalServiceError => "INTERNAL_SERVICE_ERROR",
        /// `ENDPOINT_TIMEOUT`
        EndpointTimeout => "ENDPOINT_TIMEOUT",
    }
}
