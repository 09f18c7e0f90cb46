//! Log and trace set-up: JSON or pretty log lines per `[log] format`, level
//! from `RUST_LOG` (default `info`); with `[telemetry.otlp]` (or the standard
//! `OTEL_*` variables) the request spans are exported as OpenTelemetry traces
//! too ([`otlp`]), and [`spans`] names them.
//!
//! Field values come from callers (a `requestId`, a cert URL, an error
//! text), so neither format writes them raw: JSON escapes them as JSON
//! strings, and the pretty format uses [`EscapedFields`], which escapes every
//! control character (a newline cannot forge a log line, an ANSI sequence
//! cannot reach the terminal). Colours are used only when stderr (where the
//! logs go) is a terminal and `NO_COLOR` is not set: never in files or pipes.

pub mod otlp;
pub mod spans;

use std::fmt::{self, Write as _};
use std::io::IsTerminal as _;

use tracing::field::{Field, Visit};
use tracing::Subscriber;
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

pub use otlp::{
    dropped_spans, ExportSettings, OtlpConfig, OtlpError, TelemetryConfig, TraceExport,
};

/// Install the global subscriber (logs only). Calling it twice is harmless
/// (the second call is ignored), so tests and embedding apps may call it
/// freely.
pub fn init(format: LogFormat) {
    install(format, None);
}

/// Install the global subscriber with trace export when `telemetry` (or the
/// standard `OTEL_*` environment variables) asks for it: the logs as
/// [`init`], plus the OpenTelemetry layer. Must run inside a Tokio runtime.
/// Keep the returned [`TraceExport`] and call [`TraceExport::shutdown`] at
/// exit to send what is queued; `None`: export is off.
pub fn init_with_traces(
    format: LogFormat,
    telemetry: &TelemetryConfig,
) -> Result<Option<TraceExport>, OtlpError> {
    let Some(settings) = telemetry.resolve(|name| std::env::var(name).ok())? else {
        init(format);
        return Ok(None);
    };
    let export = TraceExport::start(settings)?;
    install(format, Some(export.tracer()));
    let s = export.settings();
    tracing::info!(
        endpoint = %s.endpoint,
        service_name = %s.service_name,
        sampling_ratio = s.sampling_ratio,
        "trace export on (OTLP/HTTP)"
    );
    Ok(Some(export))
}

fn install(format: LogFormat, tracer: Option<opentelemetry_sdk::trace::Tracer>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = match tracer {
        // Export off: one global filter. Callsites it disables are then
        // skipped for good (tracing caches the interest), which a per-layer
        // filter cannot do: the request path paid for every debug span and
        // event it never logged.
        None => tracing_subscriber::registry()
            .with(filter)
            .with(log_layer(format))
            .try_init(),
        // Export on: the trace layer sees its spans whatever the log level.
        Some(tracer) => tracing_subscriber::registry()
            .with(trace_layer(tracer))
            .with(log_layer(format).with_filter(filter))
            .try_init(),
    };
}

/// The OpenTelemetry layer over `tracer` (from [`TraceExport::tracer`]), for
/// apps that build their own subscriber. Only this crate's spans are
/// exported: never events (a handler may log a message's text), never the
/// HTTP client's own spans (an export would trace itself).
pub fn trace_layer<S>(tracer: opentelemetry_sdk::trace::Tracer) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(filter_fn(|meta| {
            meta.is_span() && meta.target().starts_with("alexa_endpoint")
        }))
        .boxed()
}

/// The log lines: JSON with the event's fields flattened and the innermost
/// span's fields under `span`, or the escaped pretty format.
fn log_layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Json => layer
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => layer
            .with_ansi(use_colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .fmt_fields(EscapedFields)
            .boxed(),
    }
}

/// Colours only on a terminal, and not when `NO_COLOR` is set to anything
/// non-empty (<https://no-color.org>).
pub fn use_colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Formats event and span fields like tracing-subscriber's default
/// (`message name=value name="text"`), but writes every control character of
/// a name or value escaped (`\n`, `\r`, `\t`, `\u{1b}`, ...), as well as the
/// Unicode line separators and bidirectional overrides.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'a> MakeVisitor<Writer<'a>> for EscapedFields {
    type Visitor = EscapingVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        EscapingVisitor {
            writer: target,
            first: true,
            result: Ok(()),
        }
    }
}

/// The visitor of [`EscapedFields`].
#[derive(Debug)]
pub struct EscapingVisitor<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn field(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let mut out = Escaping(&mut self.writer);
        self.result = (|| {
            if !self.first {
                out.0.write_char(' ')?;
            }
            if field.name() != "message" {
                // `r#type` and friends are shown without their raw prefix.
                out.write_str(field.name().trim_start_matches("r#"))?;
                out.0.write_char('=')?;
            }
            out.write_fmt(value)
        })();
        self.first = false;
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, format_args!("{value}"));
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for EscapingVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for EscapingVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Writes through to `.0`, escaping what must not reach a log line raw.
struct Escaping<'w, 'a>(&'w mut Writer<'a>);

impl fmt::Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| needs_escape(c)) {
            self.0.write_str(&rest[..at])?;
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// Control characters (C0, DEL, C1), Unicode line/paragraph separators and
/// bidirectional formatting characters.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
pub(crate) mod capture {
    //! A log writer unit tests read back.

    use std::sync::{Arc, Mutex};

    /// Collects what a test subscriber writes (clones share the buffer).
    #[derive(Clone, Default)]
    pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        /// Everything written so far.
        pub(crate) fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::capture::Capture;
    use super::*;

    const FORGED: &str =
        "r1\n2026-01-01T00:00:00Z  INFO forged line\r\x1b[31mred\x1b[0m\u{9b}2J\u{202e}";

    fn log_pretty(colour: bool) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(colour)
            .fmt_fields(EscapedFields)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("alexa_request", request_id = %FORGED);
            let _entered = span.enter();
            tracing::info!(request_id = FORGED, shown = %FORGED, debug = ?FORGED, "request {FORGED}");
        });
        capture.text()
    }

    #[test]
    fn pretty_fields_are_escaped_without_colours() {
        let out = log_pretty(false);
        assert_eq!(out.lines().count(), 1, "{out:?}");
        assert!(!out.contains('\x1b') && !out.contains('\r'), "{out:?}");
        assert!(
            !out.contains('\u{9b}') && !out.contains('\u{202e}'),
            "{out:?}"
        );
        // Display (`%`) values, the message and span fields are escaped too.
        assert!(
            out.contains(r"shown=r1\n2026-01-01T00:00:00Z  INFO forged line\r\u{1b}[31mred"),
            "{out:?}"
        );
        assert!(out.contains(r"alexa_request{request_id=r1\n"), "{out:?}");
        assert!(out.contains(r"request r1\n"), "{out:?}");
    }

    #[test]
    fn pretty_fields_are_escaped_with_colours_too() {
        let out = log_pretty(true);
        assert_eq!(out.lines().count(), 1, "{out:?}");
        // The formatter's own colour codes are there, the value's are not.
        assert!(out.contains('\x1b'), "{out:?}");
        assert!(!out.contains("\x1b[31mred"), "{out:?}");
        assert!(out.contains(r"\u{1b}[31mred"), "{out:?}");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }
}
