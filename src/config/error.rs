//! The one error of configuration: which key, where its value came from,
//! what is wrong with it.

use std::fmt;
use std::path::PathBuf;

/// Where the value of a key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// The embedded defaults (`config/default.toml`), or the key is absent.
    Default,
    /// The TOML file given with `--config`.
    File(PathBuf),
    /// An `ALEXA_ENDPOINT_*` environment variable (its name).
    Env(String),
    /// A TOML text given to [`Config::from_toml`](super::Config::from_toml).
    Text,
    /// Changed in code after loading (a library user set the field).
    Code,
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Default => f.write_str("default value"),
            ValueSource::File(path) => write!(f, "set in {}", path.display()),
            ValueSource::Env(var) => write!(f, "set by environment variable {var}"),
            ValueSource::Text => f.write_str("set in the TOML text"),
            ValueSource::Code => f.write_str("set in code after loading"),
        }
    }
}

/// Loading or validating the configuration failed. Printed as one line
/// (no error chain) that names the key and where its value came from; it
/// never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read or is not TOML.
    #[error("configuration: cannot load {}: {reason}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// Why (I/O error or TOML syntax error with its position).
        reason: String,
    },
    /// A value was read but is not acceptable.
    #[error("configuration: `{key}` ({source_of_value}): {reason}")]
    Invalid {
        /// Dotted key, e.g. `server.path`.
        key: String,
        /// Where the value came from.
        source_of_value: ValueSource,
        /// What is wrong with it (for an enum: the valid values).
        reason: String,
    },
}

impl ConfigError {
    /// The dotted key at fault (`None` for a file that cannot be loaded).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Load { .. } => None,
            ConfigError::Invalid { key, .. } => Some(key),
        }
    }
}

/// Something `serve` accepts with a warning at start-up (a preloaded cert
/// chain that is not valid now): `check-config` shows it and exits 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: `{key}` ({source_of_value}): {reason}")]
pub struct ConfigWarning {
    /// Dotted key.
    pub key: String,
    /// Where the value came from.
    pub source_of_value: ValueSource,
    /// What is wrong with it.
    pub reason: String,
}

/// A key and what is wrong with it; [`super::Config`] adds where the value
/// came from to make a [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Dotted key.
    pub(crate) key: String,
    /// What is wrong.
    pub(crate) reason: String,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
