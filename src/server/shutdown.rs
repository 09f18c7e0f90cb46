//! Signals: SIGTERM (container stop) or SIGINT (Ctrl-C) shut down; SIGHUP
//! reloads the TLS certificate or is ignored.

/// Resolves on the first SIGTERM or SIGINT.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}

/// Listen for SIGHUP for the rest of the process's life, so that it never
/// terminates the process: with TLS it reloads the certificate, in plain-HTTP
/// mode there is nothing to reload and it is logged and ignored.
///
/// The handler is installed before this returns.
pub(crate) fn handle_sighup(tls: Option<super::tls::Tls>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(hup) => hup,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP");
                return;
            }
        };
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match &tls {
                    Some(tls) => tls.reload(),
                    None => tracing::info!(
                        "SIGHUP received: nothing to reload in plain-HTTP mode; ignored"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = tls;
}
