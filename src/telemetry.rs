//! Log set-up: JSON or pretty lines per `[log] format`, level from `RUST_LOG`
//! (default `info`).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Install the global subscriber. Calling it twice is harmless (the second
/// call is ignored), so tests and embedding apps may call it freely.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
