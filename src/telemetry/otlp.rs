//! Trace export: `[telemetry.otlp]` and the standard `OTEL_*` environment
//! variables resolved into one [`ExportSettings`], and the OpenTelemetry
//! pipeline built from it (OTLP over HTTP with protobuf bodies, batched,
//! bounded).
//!
//! A dead or hanging collector must never slow or fail a request: a finished
//! span is handed to a bounded queue without waiting (a full queue drops it
//! and counts it, [`dropped_spans`]), and a background task exports batches
//! with a short timeout.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, Sampler, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor, Tracer,
};
use opentelemetry_sdk::Resource;
use serde::{Deserialize, Serialize};

use crate::config::{redact, SecretUrl};

/// Finished spans waiting for export, at most; more are dropped and counted.
pub const MAX_QUEUED_SPANS: usize = 2048;
/// Spans sent in one export request, at most.
const MAX_EXPORT_BATCH: usize = 512;
/// How often queued spans are exported.
const EXPORT_INTERVAL: Duration = Duration::from_millis(1000);
/// One export request (connect included) gives up after this long.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// The service name when neither the config nor `OTEL_SERVICE_NAME` sets one.
pub const DEFAULT_SERVICE_NAME: &str = "alexa-endpoint";
/// The only accepted `protocol` (and `OTEL_EXPORTER_OTLP_PROTOCOL`).
pub const HTTP_PROTOBUF: &str = "http/protobuf";

/// Spans dropped because the export queue was full, since the process started.
static DROPPED_SPANS: AtomicU64 = AtomicU64::new(0);

/// Finished spans dropped because the export queue was full (a dead, slow or
/// hanging collector), since the process started.
pub fn dropped_spans() -> u64 {
    DROPPED_SPANS.load(Ordering::Relaxed)
}

/// `[telemetry]`: what the endpoint reports besides its logs and metrics.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Trace export over OTLP/HTTP.
    #[serde(default)]
    pub otlp: OtlpConfig,
}

/// `[telemetry.otlp]`. Every key left unset falls back to the standard
/// `OTEL_*` environment variable, then to the built-in default.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Where traces are POSTed. Unset (and no `OTEL_EXPORTER_OTLP_ENDPOINT` /
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): no export. A URL without a path
    /// gets `/v1/traces` appended.
    /// Credentials in it (user info, a token parameter) are redacted in
    /// output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<SecretUrl>,
    /// Wire protocol; `http/protobuf` is the only one.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// `service.name` of the exported spans (default `alexa-endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Share of requests traced, 0.0 to 1.0 (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_ratio: Option<f64>,
}

/// The OTLP wire protocol. Only protobuf over HTTP is built in (no gRPC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum OtlpProtocol {
    /// `http/protobuf`: `POST <endpoint>` with an `ExportTraceServiceRequest`.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl<'de> Deserialize<'de> for OtlpProtocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        if value == HTTP_PROTOBUF {
            Ok(Self::HttpProtobuf)
        } else {
            Err(serde::de::Error::custom(format!(
                "{value:?} is not supported: \"{HTTP_PROTOBUF}\" is the only protocol (no gRPC)"
            )))
        }
    }
}

/// The trace export settings could not be resolved or the exporter built.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// A key or environment variable has a value that cannot be used.
    #[error("{key}: {reason}")]
    Invalid {
        /// The config key (`telemetry.otlp.sampling_ratio`) or variable name.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The exporter could not be built.
    #[error("telemetry.otlp: cannot build the exporter: {0}")]
    Build(String),
}

fn invalid(key: &'static str, reason: impl Into<String>) -> OtlpError {
    OtlpError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// Trace export, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// The full URL spans are POSTed to (`.../v1/traces`).
    pub endpoint: SecretUrl,
    /// `service.name`.
    pub service_name: String,
    /// Share of requests traced, 0.0 to 1.0.
    pub sampling_ratio: f64,
}

impl TelemetryConfig {
    /// Check what serde cannot: the sampling ratio's bounds, the endpoint's
    /// scheme, a non-empty service name.
    pub fn validate(&self) -> Result<(), OtlpError> {
        let o = &self.otlp;
        if let Some(ratio) = o.sampling_ratio {
            check_ratio("telemetry.otlp.sampling_ratio", ratio)?;
        }
        if let Some(url) = &o.endpoint {
            check_endpoint("telemetry.otlp.endpoint", url.expose_url())?;
        }
        if o.service_name.as_deref().is_some_and(str::is_empty) {
            return Err(invalid("telemetry.otlp.service_name", "must not be empty"));
        }
        Ok(())
    }

    /// The export settings: the config's keys first, then the standard
    /// environment variables (looked up with `env`), then the defaults.
    /// `Ok(None)`: export is off.
    pub fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ExportSettings>, OtlpError> {
        self.validate()?;
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        for var in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(p) = env(var) {
                if p.trim() != HTTP_PROTOBUF {
                    return Err(invalid(
                        var,
                        format!("{p:?} is not supported: only \"{HTTP_PROTOBUF}\" is built in"),
                    ));
                }
                break;
            }
        }
        let o = &self.otlp;
        let endpoint = if let Some(url) = &o.endpoint {
            Some(with_default_path(url.expose_url().clone()))
        } else if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            None
        } else if let Some(raw) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            const KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
            let url = url::Url::parse(raw.trim()).map_err(|e| invalid(KEY, e.to_string()))?;
            check_endpoint(KEY, &url)?;
            Some(url)
        } else if let Some(raw) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
            const KEY: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
            let base = format!("{}/v1/traces", raw.trim().trim_end_matches('/'));
            let url = url::Url::parse(&base).map_err(|e| invalid(KEY, e.to_string()))?;
            check_endpoint(KEY, &url)?;
            Some(url)
        } else {
            None
        };
        let Some(endpoint) = endpoint.map(SecretUrl::from) else {
            return Ok(None);
        };
        let service_name = o
            .service_name
            .clone()
            .or_else(|| env("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()))
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        let sampling_ratio = match o.sampling_ratio {
            Some(ratio) => ratio,
            None => sampler_from_env(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))?,
        };
        Ok(Some(ExportSettings {
            endpoint,
            service_name,
            sampling_ratio,
        }))
    }
}

fn check_ratio(key: &'static str, ratio: f64) -> Result<(), OtlpError> {
    if (0.0..=1.0).contains(&ratio) {
        Ok(())
    } else {
        Err(invalid(key, format!("{ratio} is not between 0.0 and 1.0")))
    }
}

fn check_endpoint(key: &'static str, url: &url::Url) -> Result<(), OtlpError> {
    if matches!(url.scheme(), "http" | "https") && url.has_host() {
        Ok(())
    } else {
        Err(invalid(key, "must be an http:// or https:// URL"))
    }
}

/// `http://collector:4318` means the collector's traces path.
fn with_default_path(mut url: url::Url) -> url::Url {
    if url.path().is_empty() || url.path() == "/" {
        url.set_path("/v1/traces");
    }
    url
}

/// `OTEL_TRACES_SAMPLER` (+ `_ARG`) as a ratio. Requests never continue a
/// caller's trace, so the `parentbased_` variants mean the same as the plain
/// ones here.
fn sampler_from_env(sampler: Option<String>, arg: Option<String>) -> Result<f64, OtlpError> {
    let Some(sampler) = sampler else {
        return Ok(1.0);
    };
    match sampler.trim() {
        "always_on" | "parentbased_always_on" => Ok(1.0),
        "always_off" | "parentbased_always_off" => Ok(0.0),
        "traceidratio" | "parentbased_traceidratio" => {
            const KEY: &str = "OTEL_TRACES_SAMPLER_ARG";
            let Some(arg) = arg else {
                return Ok(1.0);
            };
            let ratio: f64 = arg
                .trim()
                .parse()
                .map_err(|_| invalid(KEY, format!("{arg:?} is not a number")))?;
            check_ratio(KEY, ratio)?;
            Ok(ratio)
        }
        other => Err(invalid(
            "OTEL_TRACES_SAMPLER",
            format!(
                "{other:?} is not supported (always_on, always_off, traceidratio and their \
                 parentbased_ forms are)"
            ),
        )),
    }
}

/// A running trace export; [`TraceExport::shutdown`] flushes what is queued.
#[derive(Debug)]
pub struct TraceExport {
    provider: SdkTracerProvider,
    settings: ExportSettings,
}

impl TraceExport {
    /// Build the exporter and the batch processor (must run inside a Tokio
    /// runtime: the exports run as a task on it).
    pub fn start(settings: ExportSettings) -> Result<Self, OtlpError> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .connect_timeout(EXPORT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| OtlpError::Build(e.to_string()))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.endpoint.expose_str())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            // The exporter's "invalid URI" error quotes the endpoint whole.
            .map_err(|e| {
                let secrets = redact::url_secrets(settings.endpoint.expose_str());
                OtlpError::Build(redact::clean(&e.to_string(), &secrets))
            })?;
        let queued = Arc::new(AtomicUsize::new(0));
        let batch = BatchConfigBuilder::default()
            // The SDK's own queue never fills: `Bounded` drops first (and counts).
            .with_max_queue_size(MAX_QUEUED_SPANS + 64)
            .with_max_export_batch_size(MAX_EXPORT_BATCH)
            .with_scheduled_delay(EXPORT_INTERVAL)
            .with_max_export_timeout(EXPORT_TIMEOUT)
            .with_max_concurrent_exports(1)
            .build();
        let processor = BatchSpanProcessor::builder(
            Dequeued {
                inner: exporter,
                queued: queued.clone(),
                reported: AtomicU64::new(dropped_spans()),
            },
            opentelemetry_sdk::runtime::Tokio,
        )
        .with_batch_config(batch)
        .build();
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(Bounded {
                inner: processor,
                queued,
            })
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                settings.sampling_ratio,
            ))))
            .with_resource(resource)
            .build();
        Ok(Self { provider, settings })
    }

    /// The tracer the `tracing` layer writes through.
    pub fn tracer(&self) -> Tracer {
        self.provider.tracer("alexa-endpoint")
    }

    /// What this export was started with.
    pub fn settings(&self) -> &ExportSettings {
        &self.settings
    }

    /// Export what is queued (bounded by the export timeout) and stop.
    /// Blocking: call it from `spawn_blocking` or outside the runtime.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(EXPORT_TIMEOUT) {
            tracing::debug!(error = %e, "trace export: shutdown incomplete");
        }
    }
}

/// Admits a finished span to the batch processor only while fewer than
/// [`MAX_QUEUED_SPANS`] wait for export; drops (and counts) the rest. The
/// SDK drops silently when its queue is full, so the bound lives here.
#[derive(Debug)]
struct Bounded<P> {
    inner: P,
    queued: Arc<AtomicUsize>,
}

impl<P: SpanProcessor> SpanProcessor for Bounded<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &opentelemetry::Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_QUEUED_SPANS).then_some(n + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            // Counted only: this runs inside the subscriber (closing a span),
            // so the warning is written by the export task (`Dequeued`).
            DROPPED_SPANS.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter, giving back [`Bounded`]'s queue places as batches leave,
/// and warning (at most once per export) when spans were dropped since.
#[derive(Debug)]
struct Dequeued<E> {
    inner: E,
    queued: Arc<AtomicUsize>,
    reported: AtomicU64,
}

impl<E: SpanExporter> SpanExporter for Dequeued<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(batch.len()))
            });
        let dropped = dropped_spans();
        let before = self.reported.swap(dropped, Ordering::Relaxed);
        if dropped > before {
            tracing::warn!(
                dropped = dropped - before,
                total = dropped,
                max_queued = MAX_QUEUED_SPANS,
                "trace export: queue full (collector down or slow), spans dropped \
                 (alexa_endpoint_trace_spans_dropped_total)"
            );
        }
        self.inner.export(batch)
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn cfg(toml_text: &str) -> TelemetryConfig {
        toml::from_str(toml_text).expect("parses")
    }

    #[test]
    fn off_by_default() {
        assert_eq!(TelemetryConfig::default().resolve(env(&[])).unwrap(), None);
    }

    #[test]
    fn config_endpoint_without_path_gets_the_traces_path() {
        let c = cfg("[otlp]\nendpoint = \"http://collector:4318\"\n");
        let s = c.resolve(env(&[])).unwrap().unwrap();
        assert_eq!(s.endpoint.expose_str(), "http://collector:4318/v1/traces");
        assert_eq!(s.service_name, DEFAULT_SERVICE_NAME);
        assert_eq!(s.sampling_ratio, 1.0);
        let c = cfg("[otlp]\nendpoint = \"https://c.example/custom/traces\"\n");
        let s = c.resolve(env(&[])).unwrap().unwrap();
        assert_eq!(s.endpoint.expose_str(), "https://c.example/custom/traces");
    }

    #[test]
    fn generic_env_endpoint_alone_turns_export_on() {
        let s = TelemetryConfig::default()
            .resolve(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]))
            .unwrap()
            .unwrap();
        assert_eq!(s.endpoint.expose_str(), "http://c:4318/v1/traces");
    }

    #[test]
    fn signal_env_endpoint_is_used_as_is_and_wins_over_the_generic_one() {
        let s = TelemetryConfig::default()
            .resolve(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/x"),
                ("OTEL_SERVICE_NAME", "svc"),
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(s.endpoint.expose_str(), "http://t:4318/x");
        assert_eq!(s.service_name, "svc");
        assert_eq!(s.sampling_ratio, 0.25);
    }

    #[test]
    fn config_keys_win_over_the_environment() {
        let c = cfg(
            "[otlp]\nendpoint = \"http://cfg:4318\"\nservice_name = \"mine\"\nsampling_ratio = 0.5\n",
        );
        let s = c
            .resolve(env(&[
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://env:4318/v1/traces",
                ),
                ("OTEL_SERVICE_NAME", "env"),
                ("OTEL_TRACES_SAMPLER", "always_off"),
            ]))
            .unwrap()
            .unwrap();
        assert_eq!(s.endpoint.expose_str(), "http://cfg:4318/v1/traces");
        assert_eq!(s.service_name, "mine");
        assert_eq!(s.sampling_ratio, 0.5);
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let err =
            |c: TelemetryConfig, e: &[(&str, &str)]| c.resolve(env(e)).unwrap_err().to_string();
        let on = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")];
        assert!(err(cfg("[otlp]\nsampling_ratio = 1.5\n"), &[])
            .starts_with("telemetry.otlp.sampling_ratio"));
        assert!(err(cfg("[otlp]\nsampling_ratio = -0.1\n"), &[])
            .starts_with("telemetry.otlp.sampling_ratio"));
        assert!(err(cfg("[otlp]\nendpoint = \"ftp://c\"\n"), &[])
            .starts_with("telemetry.otlp.endpoint"));
        let grpc = [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")];
        assert!(err(TelemetryConfig::default(), &grpc).starts_with("OTEL_EXPORTER_OTLP_PROTOCOL"));
        let sampler = [on[0], ("OTEL_TRACES_SAMPLER", "jaeger_remote")];
        assert!(err(TelemetryConfig::default(), &sampler).starts_with("OTEL_TRACES_SAMPLER"));
        let arg = [
            on[0],
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ];
        assert!(err(TelemetryConfig::default(), &arg).starts_with("OTEL_TRACES_SAMPLER_ARG"));
        assert!(toml::from_str::<TelemetryConfig>("[otlp]\nprotocol = \"grpc\"\n").is_err());
    }

    #[test]
    fn sdk_disabled_wins_over_env_endpoints_only() {
        let off = [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ];
        assert_eq!(TelemetryConfig::default().resolve(env(&off)).unwrap(), None);
    }

    /// Takes every span and never exports: the queue only fills.
    #[derive(Debug, Default)]
    struct Stuck(Arc<AtomicUsize>);

    impl SpanProcessor for Stuck {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
        fn on_end(&self, _: SpanData) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let taken = Arc::new(AtomicUsize::new(0));
        let provider = SdkTracerProvider::builder()
            .with_span_processor(Bounded {
                inner: Stuck(taken.clone()),
                queued: Arc::new(AtomicUsize::new(0)),
            })
            .build();
        let tracer = provider.tracer("test");
        let before = dropped_spans();
        for _ in 0..MAX_QUEUED_SPANS + 10 {
            tracer.in_span("s", |_| {});
        }
        assert_eq!(taken.load(Ordering::Relaxed), MAX_QUEUED_SPANS);
        assert_eq!(dropped_spans() - before, 10);
    }

    #[test]
    fn an_exporter_build_error_does_not_show_the_endpoint_password() {
        // Longer than an `http::Uri` may be: the exporter refuses it and its
        // error quotes the URL.
        let long = format!("https://user:PW-SECRET@c.example/{}", "a".repeat(70_000));
        let settings = ExportSettings {
            endpoint: SecretUrl::parse(&long).unwrap(),
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            sampling_ratio: 1.0,
        };
        let err = TraceExport::start(settings).unwrap_err().to_string();
        assert!(
            err.starts_with("telemetry.otlp: cannot build"),
            "{err:.200}"
        );
        assert!(!err.contains("PW-SECRET"), "{err:.200}");
    }

    #[test]
    fn endpoint_credentials_are_redacted_in_output() {
        let c = cfg("[otlp]\nendpoint = \"https://user:pw@c.example/v1/traces\"\n");
        let text = toml::to_string(&c).unwrap();
        assert!(!text.contains("pw"), "{text}");
        assert!(text.contains("http/protobuf"), "{text}");
        let settings = c.resolve(|_| None).unwrap().unwrap();
        let debug = format!("{c:?} {settings:?}");
        assert!(!debug.contains("pw"), "{debug}");
        assert_eq!(settings.endpoint.expose_url().password(), Some("pw"));
    }
}
