//! HTTPS with rustls, reloading the certificate on SIGHUP.

use axum_server::tls_rustls::RustlsConfig;

use crate::config::TlsConfig;

/// Load the PEM files of `[server.tls]`.
pub async fn load(cfg: &TlsConfig) -> std::io::Result<RustlsConfig> {
    crate::install_crypto_provider();
    RustlsConfig::from_pem_file(&cfg.cert, &cfg.key).await
}

/// Reload the certificate and key on every SIGHUP (certificate rotation
/// without a restart). A failed reload keeps the old certificate.
pub fn reload_on_sighup(rustls: RustlsConfig, cfg: TlsConfig) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::error!("cannot listen for SIGHUP: TLS reload disabled");
            return;
        };
        while hup.recv().await.is_some() {
            match rustls.reload_from_pem_file(&cfg.cert, &cfg.key).await {
                Ok(()) => tracing::info!(cert = %cfg.cert.display(), "TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS reload failed; keeping the old certificate")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (rustls, cfg);
}
