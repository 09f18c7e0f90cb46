//! `Debug` for raw JSON that may carry credentials (for example the
//! `accessToken` in an `AlexaSkillEvent.SkillAccountLinked` body or a
//! `consentToken` in `user.permissions`): values under token-like keys are
//! replaced before printing. Only used by `Debug`, never on the hot path.

use std::fmt;

use serde_json::{Map, Value};

const REDACTED: &str = "[REDACTED]";

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("token") || k.contains("secret") || k.contains("password")
}

fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let v = if is_secret_key(k) {
                Value::String(REDACTED.to_owned())
            } else {
                redact(v)
            };
            (k.clone(), v)
        })
        .collect()
}

fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(redact_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Debug-prints a JSON value with token-like fields redacted.
pub(crate) struct Redacted<'a, T: ?Sized>(pub(crate) &'a T);

impl fmt::Debug for Redacted<'_, Value> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact(self.0), f)
    }
}

impl fmt::Debug for Redacted<'_, Option<Value>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0.as_ref().map(redact), f)
    }
}

impl fmt::Debug for Redacted<'_, Map<String, Value>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_map(self.0), f)
    }
}
