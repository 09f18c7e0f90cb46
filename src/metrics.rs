//! Prometheus metrics, one registry per endpoint instance (so parallel test
//! servers never share counters), served at `GET /metrics`.
//!
//! Label values are `&'static str` from closed sets: request types are
//! [`RequestKind::as_str`] (`other` for any unknown type, `none` before one
//! was parsed), outcomes [`Outcome::as_str`]; an attacker cannot grow the
//! number of series by sending new request types.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::dispatch::Outcome;
use crate::envelope::RequestKind;
use crate::verify::CertStoreStats;

/// Labels of `alexa_endpoint_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    request_type: &'static str,
    status: u16,
}

/// A single `reason`, `outcome`, `kind` ... label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    api: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueuePublishLabels {
    backend: &'static str,
    result: &'static str,
}

/// The `api` label of `alexa_endpoint_api_retries_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabel {
    api: &'static str,
}

/// All metrics of one endpoint.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histogram,
    verification_failures: Family<ReasonLabel, Counter>,
    dedup_outcomes: Family<OutcomeLabel, Counter>,
    handler_duration: Histogram,
    handler_errors: Family<KindLabel, Counter>,
    api_calls: Family<ApiLabels, Counter>,
    api_retries: Family<ApiLabel, Counter>,
    acknowledged: Counter,
    unprocessable: Counter,
    listener: ListenerMetrics,
    dedup_store_resets: Counter,
    dedup_store_errors: Counter,
    #[cfg_attr(not(feature = "queue"), allow(dead_code))]
    queue_publish: Family<QueuePublishLabels, Counter>,
}

/// Admission and connection figures of the Alexa listener.
#[derive(Default)]
struct ListenerMetrics {
    in_flight: Gauge,
    shed: Family<ReasonLabel, Counter>,
    connections_rejected: Counter,
    open_connections: Gauge,
}

impl ListenerMetrics {
    fn register(&self, registry: &mut Registry) {
        // Both reasons exist from the start, at 0: the shedding ratio is 0,
        // not absent, before the first shed request.
        for reason in ["in_flight", "outbound_saturated"] {
            drop(self.shed.get_or_create(&ReasonLabel { reason }));
        }
        registry.register(
            "in_flight_requests",
            "Alexa requests being handled now",
            self.in_flight.clone(),
        );
        registry.register(
            "shed_requests",
            "Requests answered 503 at once because a bound was reached, by reason \
             (in_flight, outbound_saturated)",
            self.shed.clone(),
        );
        registry.register(
            "connections_rejected",
            "Connections closed at once because server.max_connections were open",
            self.connections_rejected.clone(),
        );
        registry.register(
            "open_connections",
            "Open connections on the Alexa listener",
            self.open_connections.clone(),
        );
    }
}

/// Reads the cert cache counters at scrape time.
pub type CertFiguresSource = Arc<dyn Fn() -> CertStoreStats + Send + Sync>;

/// Exposes the cert cache's own atomic counters as Prometheus counters.
struct CertCacheCollector(CertFiguresSource);

impl std::fmt::Debug for CertCacheCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertCacheCollector")
    }
}

/// The `result` label of `alexa_endpoint_cert_downloads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertDownloadLabel {
    result: &'static str,
}

impl Collector for CertCacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = (self.0)();
        for (name, help, value) in [
            (
                "cert_cache_hits",
                "Signature checks served by a cached cert chain",
                c.hits,
            ),
            (
                "cert_cache_misses",
                "Signature checks that found no cached chain",
                c.misses,
            ),
            (
                "cert_download_errors",
                "Failed cert chain downloads",
                c.download_errors,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        encode_cert_downloads(&mut encoder, &c)
    }
}

/// `alexa_endpoint_cert_downloads_total{result}`: `ok`, `not_found` (4xx),
/// `failed` (5xx, timeout, network), and `negative_cached` (answered from
/// the memory of a recent failure: no download made).
fn encode_cert_downloads(
    encoder: &mut DescriptorEncoder,
    c: &CertStoreStats,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(
        "cert_downloads",
        "Cert chain downloads by result; negative_cached: answered from a remembered failure without a download",
        None,
        prometheus_client::metrics::MetricType::Counter,
    )?;
    for (result, value) in [
        ("ok", c.downloads_ok),
        ("not_found", c.downloads_not_found),
        ("failed", c.downloads_failed),
        ("negative_cached", c.negative_cached),
    ] {
        let labels = CertDownloadLabel { result };
        let metric = family.encode_family(&labels)?;
        ConstCounter::new(value).encode(metric)?;
    }
    Ok(())
}

/// `alexa_endpoint_trace_spans_dropped_total`: finished spans the trace
/// export dropped because its queue was full (process-wide: the exporter is
/// one per process; 0 while export is off).
#[derive(Debug)]
struct TraceExportCollector;

impl Collector for TraceExportCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter = ConstCounter::new(crate::telemetry::dropped_spans());
        let metric = encoder.encode_descriptor(
            "trace_spans_dropped",
            "Finished trace spans dropped because the export queue was full (collector down or slow)",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.5, 5.0, 10.0,
    ]
    .into_iter()
}

impl Metrics {
    /// A fresh registry with every metric registered; `cert` reads the cert
    /// cache counters when verification is on.
    pub fn new(cert: Option<CertFiguresSource>) -> Arc<Self> {
        let mut registry = Registry::with_prefix("alexa_endpoint");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by request type and HTTP status",
            requests.clone(),
        );
        let request_duration = Histogram::new(latency_buckets());
        registry.register(
            "request_duration_seconds",
            "Time from reading the body to writing the answer",
            request_duration.clone(),
        );
        let verification_failures = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "verification_failures",
            "Requests rejected by verification, by reason",
            verification_failures.clone(),
        );
        let dedup_outcomes = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "dedup_outcomes",
            "Messaging.MessageReceived requests that went through the dedup guard, by outcome",
            dedup_outcomes.clone(),
        );
        let handler_duration = Histogram::new(latency_buckets());
        registry.register(
            "handler_duration_seconds",
            "Time spent in user handlers",
            handler_duration.clone(),
        );
        let handler_errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "handler_errors",
            "Handler failures, by outcome (handler_error, handler_unavailable, handler_panicked, \
             handler_deadline_exceeded, response_too_large)",
            handler_errors.clone(),
        );
        let api_calls = Family::<ApiLabels, Counter>::default();
        registry.register(
            "alexa_api_calls",
            "Calls to Alexa APIs, by API and HTTP status (0: no answer)",
            api_calls.clone(),
        );
        let api_retries = Family::<ApiLabel, Counter>::default();
        registry.register(
            "api_retries",
            "Alexa API calls tried again after a 429, 5xx or transport failure, by API",
            api_retries.clone(),
        );
        let acknowledged = Counter::default();
        registry.register(
            "messages_acknowledged",
            "Messaging.MessageReceived answered 200 (handled now or before)",
            acknowledged.clone(),
        );
        let unprocessable = Counter::default();
        registry.register(
            "messages_unprocessable",
            "Messages acknowledged although they can never succeed (logged at error)",
            unprocessable.clone(),
        );
        let dedup_store_resets = Counter::default();
        registry.register(
            "dedup_store_resets",
            "Times the dedup store noticed it lost its data (re-deliveries may run twice)",
            dedup_store_resets.clone(),
        );
        let dedup_store_errors = Counter::default();
        registry.register(
            "dedup_store_errors",
            "Dedup store calls that failed (claim, done mark, release), whatever \
             dedup.on_store_error decides",
            dedup_store_errors.clone(),
        );
        let queue_publish = Family::<QueuePublishLabels, Counter>::default();
        registry.register(
            "queue_publish",
            "Publishes of the queue handler, by backend and result (confirmed, failed)",
            queue_publish.clone(),
        );
        if let Some(cert) = cert {
            registry.register_collector(Box::new(CertCacheCollector(cert)));
        }
        registry.register_collector(Box::new(TraceExportCollector));
        let listener = ListenerMetrics::default();
        listener.register(&mut registry);
        let build_info = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        registry.register("build", "Build information", build_info);
        Arc::new(Self {
            registry,
            requests,
            request_duration,
            verification_failures,
            dedup_outcomes,
            handler_duration,
            handler_errors,
            api_calls,
            api_retries,
            acknowledged,
            unprocessable,
            listener,
            dedup_store_resets,
            dedup_store_errors,
            queue_publish,
        })
    }

    /// Count one answered request (`kind` is `None` when none was parsed).
    pub fn request(&self, kind: Option<RequestKind>, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                request_type: kind.map_or("none", RequestKind::as_str),
                status,
            })
            .inc();
        self.request_duration.observe(elapsed.as_secs_f64());
    }

    /// Count a verification rejection.
    pub fn verification_failure(&self, reason: &'static str) {
        self.verification_failures
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Count the outcome of a request that went through the dedup guard.
    pub fn dedup(&self, outcome: Outcome) {
        self.dedup_outcomes
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Record a handler run's duration.
    pub fn handler_duration(&self, elapsed: Duration) {
        self.handler_duration.observe(elapsed.as_secs_f64());
    }

    /// Count a handler failure.
    pub fn handler_error(&self, outcome: Outcome) {
        self.handler_errors
            .get_or_create(&KindLabel {
                kind: outcome.as_str(),
            })
            .inc();
    }

    /// Count an Alexa API call.
    pub fn api_call(&self, api: &'static str, status: u16) {
        self.api_calls
            .get_or_create(&ApiLabels { api, status })
            .inc();
    }

    /// Count one retry of an Alexa API call.
    pub fn api_retry(&self, api: &'static str) {
        self.api_retries.get_or_create(&ApiLabel { api }).inc();
    }

    /// Count an acknowledged message.
    pub fn acknowledged(&self) {
        self.acknowledged.inc();
    }

    /// Count a message acknowledged although it can never be processed.
    pub fn unprocessable(&self) {
        self.unprocessable.inc();
    }

    /// One more (`+1`) or one fewer (`-1`) Alexa request being handled.
    pub fn in_flight(&self, delta: i64) {
        self.listener.in_flight.inc_by(delta);
    }

    /// Count a request answered 503 at once; `reason` is `in_flight` or
    /// `outbound_saturated`.
    pub fn shed(&self, reason: &'static str) {
        self.listener
            .shed
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Count a connection closed at once at `server.max_connections`.
    pub fn connection_rejected(&self) {
        self.listener.connections_rejected.inc();
    }

    /// One more (`+1`) or one fewer (`-1`) open connection on the Alexa listener.
    pub fn open_connections(&self, delta: i64) {
        self.listener.open_connections.inc_by(delta);
    }

    /// Count a data loss noticed by the dedup store.
    pub fn dedup_store_reset(&self) {
        self.dedup_store_resets.inc();
    }

    /// Count a dedup store call that failed.
    pub fn dedup_store_error(&self) {
        self.dedup_store_errors.inc();
    }

    /// Count one publish of the queue handler: `confirmed` by the broker, or
    /// not (`failed`).
    #[cfg_attr(not(feature = "queue"), allow(dead_code))]
    pub fn queue_publish(&self, backend: &'static str, confirmed: bool) {
        self.queue_publish
            .get_or_create(&QueuePublishLabels {
                backend,
                result: if confirmed { "confirmed" } else { "failed" },
            })
            .inc();
    }

    /// Render the exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
