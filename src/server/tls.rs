//! HTTPS with rustls (TLS 1.2 and 1.3, forward-secret suites only, ALPN h2
//! and http/1.1), the certificate reloadable on SIGHUP.

use std::io;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::TlsConfig;
use crate::config::Problem;

/// The TLS acceptor of a listener; [`Tls::reload`] swaps in a new
/// certificate for the connections that follow.
#[derive(Clone)]
pub(crate) struct Tls {
    files: TlsConfig,
    current: Arc<RwLock<TlsAcceptor>>,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

/// Read and check the PEM files: the errors name the key at fault.
fn server_config(files: &TlsConfig) -> Result<ServerConfig, Problem> {
    crate::install_crypto_provider();
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Problem::new("server.tls.cert", format!("{}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(Problem::new(
            "server.tls.cert",
            format!("{}: no certificate found", files.cert.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| Problem::new("server.tls.key", format!("{}: {e}", files.key.display())))?;
    // The default versions are TLS 1.3 and 1.2, and every suite the
    // aws-lc-rs provider offers is ECDHE (forward secret).
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            Problem::new(
                "server.tls.key",
                format!("does not fit the certificate of server.tls.cert: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// What [`Tls::load`] checks, without keeping the result (`check-config`).
pub(crate) fn check(files: &TlsConfig) -> Result<(), Problem> {
    server_config(files).map(drop)
}

impl Tls {
    /// Load the PEM files of `[server.tls]`.
    pub(crate) fn load(files: &TlsConfig) -> io::Result<Self> {
        let config = server_config(files).map_err(|p| invalid(&p.key, p.reason))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        Ok(Self {
            files: files.clone(),
            current: Arc::new(RwLock::new(acceptor)),
        })
    }

    /// The acceptor for a new connection.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        match self.current.read() {
            Ok(acceptor) => acceptor.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-read the certificate and key; on failure the old ones stay.
    pub(crate) fn reload(&self) {
        match server_config(&self.files) {
            Ok(config) => {
                let acceptor = TlsAcceptor::from(Arc::new(config));
                match self.current.write() {
                    Ok(mut current) => *current = acceptor,
                    Err(poisoned) => *poisoned.into_inner() = acceptor,
                }
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                tracing::error!(key = %e.key, error = %e.reason, "TLS reload failed; keeping the old certificate")
            }
        }
    }
}
