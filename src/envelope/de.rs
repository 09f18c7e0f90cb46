//! Small deserialization helpers shared by the envelope types.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

struct Rfc3339Visitor;

impl Visitor<'_> for Rfc3339Visitor {
    type Value = OffsetDateTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<OffsetDateTime, E> {
        OffsetDateTime::parse(v, &Rfc3339)
            .map_err(|e| E::custom(format_args!("invalid RFC 3339 timestamp: {e}")))
    }
}

/// An RFC 3339 timestamp, with or without fractional seconds.
pub(crate) fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    d.deserialize_str(Rfc3339Visitor)
}

/// An optional RFC 3339 timestamp (absent or `null` is `None`). Use with
/// `#[serde(default)]`.
pub(crate) fn rfc3339_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    struct OptVisitor;
    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<OffsetDateTime>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            rfc3339(d).map(Some)
        }
    }
    d.deserialize_option(OptVisitor)
}

/// `null` is treated like an absent field: the type's default. Use with
/// `#[serde(default)]`.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// The envelope `version`: the string `"1.0"` or the JSON number `1.0`, kept
/// as a string. A number with no fractional part is written with one
/// decimal (`1` and `1.0` both become `"1.0"`).
pub(crate) fn version<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a version string or number such as \"1.0\"")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            if v.is_finite() && v.fract() == 0.0 {
                Ok(format!("{v:.1}"))
            } else {
                Ok(v.to_string())
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(format!("{v}.0"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(format!("{v}.0"))
        }
    }
    d.deserialize_any(V)
}
