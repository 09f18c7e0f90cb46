//! Local test tooling, used by `alexa-endpoint dev pki` / `dev sign` and by
//! the test suite: a throw-away PKI shaped like Amazon's, and request signing
//! with it, so that full verification can be exercised without Alexa.
//!
//! Nothing here is used when serving requests.

use std::path::{Path, PathBuf};

pub mod pki;
pub mod sign;

pub use pki::{TestPki, TestPkiBuilder, DEV_CERT_URL};
pub use sign::{refresh_timestamp, sign_body, SignedHeaders};

/// What can go wrong making, reading or using a dev PKI.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// Certificate or key generation failed.
    #[error("certificate generation: {0}")]
    Cert(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or payload has the wrong format.
    #[error("{0}")]
    Format(String),
    /// A cryptographic operation failed.
    #[error("{0}")]
    Crypto(&'static str),
}

impl DevError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        DevError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
