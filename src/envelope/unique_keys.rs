//! Finds a JSON object that has the same key twice, anywhere in a body.
//!
//! serde_json keeps the last of two equal keys when it builds a `Value`, and
//! derived structs ignore repeated unknown fields, so `{"requestId":"a",
//! "requestId":"b"}` would silently become `b`. Two readers of such a body
//! (a proxy, a log, this endpoint) can disagree about what it says, so it is
//! refused instead.
//!
//! One extra pass over the bytes with serde_json's tokenizer: nothing is
//! built, keys without escapes are compared as borrowed slices of the body,
//! and the keys of all open objects share one stack (no allocation per
//! object). Small objects are checked by a linear scan, large ones switch to a
//! hash set so that a body full of keys cannot cost quadratic time. The path
//! of the duplicate is only assembled when one is found.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::error::{ParseError, ParseErrorKind};

/// Objects with more keys than this are checked with a hash set.
const LINEAR_SCAN_KEYS: usize = 16;

/// The first repeated key of any object in `body`, as a
/// [`ParseErrorKind::DuplicateField`] error naming its path (e.g.
/// `request.requestId`). `None` when every object's keys are distinct, and
/// also when `body` is not valid JSON (the parser reports that).
pub(crate) fn find_duplicate_key(body: &[u8]) -> Option<ParseError> {
    let mut keys = Vec::new();
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let walk = Walk {
        keys: &mut keys,
        found: &mut found,
    };
    // A syntax error leaves `found` empty; a duplicate fills it.
    let _ = walk.deserialize(&mut de);
    found.map(|reversed| {
        let path = reversed.into_iter().rev().collect::<Vec<_>>().join(".");
        ParseError::new(
            ParseErrorKind::DuplicateField,
            path,
            "this key appears more than once in its object",
        )
    })
}

/// Visits one JSON value. `keys` holds the keys of every open object (the
/// innermost last); `found` receives the path of a duplicate, innermost
/// segment first, filled in as the error unwinds.
struct Walk<'a, 'de> {
    keys: &'a mut Vec<Cow<'de, str>>,
    found: &'a mut Option<Vec<String>>,
}

impl<'de> Walk<'_, 'de> {
    fn child(&mut self) -> Walk<'_, 'de> {
        Walk {
            keys: self.keys,
            found: self.found,
        }
    }

    /// Adds `segment` to the path of a duplicate found below this point.
    fn on_error<E>(&mut self, e: E, segment: impl FnOnce() -> String) -> E {
        if let Some(path) = self.found.as_mut() {
            path.push(segment());
        }
        e
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            match seq.next_element_seed(self.child()) {
                Ok(Some(())) => index += 1,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.on_error(e, || index.to_string())),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let start = self.keys.len();
        // Once the object is large: its keys, moved off the shared stack.
        let mut large: Option<HashSet<Cow<'de, str>>> = None;
        let result = loop {
            let key = match map.next_key_seed(KeySeed) {
                Ok(Some(key)) => key,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            let repeated = match large.as_mut() {
                Some(set) => !set.insert(key.clone()),
                None => self.keys[start..].contains(&key),
            };
            if repeated {
                *self.found = Some(vec![key.into_owned()]);
                break Err(de::Error::custom("duplicate key"));
            }
            if large.is_none() {
                self.keys.push(key.clone());
                if self.keys.len() - start > LINEAR_SCAN_KEYS {
                    large = Some(self.keys.drain(start..).collect());
                }
            }
            if let Err(e) = map.next_value_seed(self.child()) {
                break Err(self.on_error(e, || key.into_owned()));
            }
        };
        self.keys.truncate(start);
        result
    }
}

/// An object key, borrowed from the body when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::find_duplicate_key;

    fn dup_path(body: &str) -> Option<String> {
        find_duplicate_key(body.as_bytes()).map(|e| {
            assert_eq!(e.reason(), "duplicate_field");
            e.path().to_owned()
        })
    }

    #[test]
    fn distinct_keys_pass() {
        assert_eq!(
            dup_path(r#"{"a":1,"b":{"a":2,"b":[{"a":3},{"a":4}]}}"#),
            None
        );
        assert_eq!(dup_path(r#"[{"a":1},{"a":1}]"#), None);
        assert_eq!(dup_path(r#""just a string""#), None);
    }

    #[test]
    fn a_repeated_key_is_found_with_its_path() {
        assert_eq!(dup_path(r#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        assert_eq!(
            dup_path(r#"{"request":{"requestId":"x","type":"t","requestId":"y"}}"#).as_deref(),
            Some("request.requestId")
        );
        assert_eq!(
            dup_path(r#"{"a":{"b":[1,{"c":0},{"d":{"e":1,"e":2}}]}}"#).as_deref(),
            Some("a.b.2.d.e")
        );
    }

    #[test]
    fn escaped_and_plain_spellings_are_the_same_key() {
        assert_eq!(
            dup_path(r#"{"type":"a","t\u0079pe":"b"}"#).as_deref(),
            Some("type")
        );
    }

    #[test]
    fn sibling_objects_do_not_share_keys() {
        assert_eq!(
            dup_path(r#"{"a":{"x":1},"b":{"x":1},"c":{"x":{"x":1}}}"#),
            None
        );
    }

    #[test]
    fn large_objects_are_checked_too() {
        let keys: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let body = format!("{{\"o\":{{{}}}}}", keys.join(","));
        assert_eq!(dup_path(&body), None);
        let body = format!("{{\"o\":{{{},\"k3\":0}}}}", keys.join(","));
        assert_eq!(dup_path(&body).as_deref(), Some("o.k3"));
        // Repeated exactly at the switch to the hash set.
        let keys: Vec<String> = (0..17).map(|i| format!("\"k{i}\":{i}")).collect();
        let body = format!("{{{},\"k0\":0}}", keys.join(","));
        assert_eq!(dup_path(&body).as_deref(), Some("k0"));
    }

    #[test]
    fn malformed_json_is_left_to_the_parser() {
        assert_eq!(dup_path(r#"{"a":1,"b""#), None);
        assert_eq!(dup_path(""), None);
    }
}
