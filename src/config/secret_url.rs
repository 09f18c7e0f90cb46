//! [`SecretUrl`]: a URL that may carry credentials, parsed once at load and
//! only ever shown redacted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::redact::redact_url;

/// A URL that may carry credentials (a password or token in the user info, a
/// secret-looking query parameter): Redis, NATS and AMQP URLs, the webhook
/// URL.
///
/// Parsed once, when the configuration is loaded. `Debug`, `Display` and
/// `Serialize` always show it through [`redact_url`]; only
/// [`SecretUrl::expose_url`] and [`SecretUrl::expose_str`] give the real
/// thing, for the code that connects.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(url::Url);

/// A text is not a URL. Its message never quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a URL ({0})")]
pub struct SecretUrlError(url::ParseError);

impl SecretUrl {
    /// Parse `text` as an absolute URL.
    pub fn parse(text: &str) -> Result<Self, SecretUrlError> {
        url::Url::parse(text).map(Self).map_err(SecretUrlError)
    }

    /// The URL with its credentials, for the code that connects.
    pub fn expose_url(&self) -> &url::Url {
        &self.0
    }

    /// The URL as text with its credentials, for the code that connects.
    pub fn expose_str(&self) -> &str {
        self.0.as_str()
    }

    /// The scheme (`redis`, `rediss`, `nats`, `amqps`, ...); never secret.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// The URL through [`redact_url`]: for logs, errors and output.
    pub fn redacted(&self) -> String {
        redact_url(self.0.as_str())
    }
}

impl From<url::Url> for SecretUrl {
    fn from(url: url::Url) -> Self {
        Self(url)
    }
}

impl FromStr for SecretUrl {
    type Err = SecretUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Not `url::Url`'s own impl: its error quotes the text.
        let text = secrecy::SecretString::deserialize(d)?;
        Self::parse(secrecy::ExposeSecret::expose_secret(&text)).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_redacted_everywhere_but_the_accessors() {
        let url = SecretUrl::parse("amqp://bob:s3cret@broker:5672/vh?token=t0k&x=1").unwrap();
        for shown in [
            format!("{url:?}"),
            url.to_string(),
            url.redacted(),
            toml::Value::try_from(&url).unwrap().to_string(),
        ] {
            assert!(
                !shown.contains("s3cret") && !shown.contains("bob") && !shown.contains("t0k"),
                "{shown}"
            );
            assert!(shown.contains("broker:5672/vh"), "{shown}");
            assert!(shown.contains("x=1"), "{shown}");
        }
        assert_eq!(url.expose_url().password(), Some("s3cret"));
        assert!(url.expose_str().contains("bob:s3cret@"));
        assert_eq!(url.scheme(), "amqp");
    }

    #[test]
    fn parse_errors_never_quote_the_text() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)] // only the error matters
        struct Doc {
            url: SecretUrl,
        }
        for bad in ["s3cret", "redis://:s3cret@host:99999", "//s3cret@host"] {
            let err = SecretUrl::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("is not a URL"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
            let mut table = toml::Table::new();
            table.insert("url".into(), toml::Value::String(bad.into()));
            let err = table.try_into::<Doc>().unwrap_err().to_string();
            assert!(err.contains("is not a URL"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
