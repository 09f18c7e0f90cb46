//! [`ParseError`]: why a body is not a valid envelope, naming the field.

use std::fmt;

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
    /// `request.message` serializes to more than [`MAX_MESSAGE_BYTES`](super::MAX_MESSAGE_BYTES).
    MessageTooLarge,
    /// `request.requestId` is longer than [`MAX_REQUEST_ID_BYTES`](super::MAX_REQUEST_ID_BYTES).
    RequestIdTooLong,
    /// An object anywhere in the body has the same key twice; the path names
    /// the repeated key.
    DuplicateField,
}

impl ParseErrorKind {
    /// The machine-readable reason, as used in error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::MissingField => "missing_field",
            Self::InvalidField => "invalid_field",
            Self::MessageTooLarge => "message_too_large",
            Self::RequestIdTooLong => "request_id_too_long",
            Self::DuplicateField => "duplicate_field",
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
    /// `"malformed_json"`, `"missing_field"`, `"invalid_field"`,
    /// `"message_too_large"`, `"request_id_too_long"` or `"duplicate_field"`.
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

    pub(crate) fn new(
        kind: ParseErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        // serde quotes offending values in its messages, and a value in the
        // wrong place may be a token: never repeat one in logs or error bodies.
        let mut message = redact_quoted(&message.into());
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
    pub(crate) fn from_json(
        prefix: &str,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = join(prefix, &path_string(err.path()));
        let inner = err.into_inner();
        if !inner.is_data() {
            // serde_json reports an array with more elements than the struct
            // it fills (`"System": [["", null]]`) as "trailing characters", a
            // syntax error, although the JSON is valid: the field's type is
            // wrong. (Trailing bytes after the whole body have an empty path.)
            if !path.is_empty() && inner.to_string().starts_with("trailing characters") {
                return Self::new(ParseErrorKind::InvalidField, path, "expected an object");
            }
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

/// Replace every double-quoted span (serde's rendering of a value) by `"…"`.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…\"");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod redaction_tests {
    use super::redact_quoted;

    #[test]
    fn quoted_values_are_removed() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "Atza|secret", expected a map"#),
            r#"invalid type: string "…", expected a map"#
        );
        assert_eq!(
            redact_quoted("missing field `requestId`"),
            "missing field `requestId`"
        );
    }
}
