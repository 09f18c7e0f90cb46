//! Prometheus metrics, one registry per endpoint instance (so parallel test
//! servers never share counters), served at `GET /metrics`.
//!
//! Label values are `&'static str` from closed sets: an attacker cannot grow
//! the number of series by sending new request types.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

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
}

/// Where a dedup claim ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupOutcome {
    /// First delivery: the handler runs.
    New,
    /// Handled before: acknowledged without running.
    Duplicate,
    /// Being handled elsewhere: 409.
    InProgress,
    /// Store unreachable.
    StoreError,
}

impl DedupOutcome {
    fn label(self) -> &'static str {
        match self {
            DedupOutcome::New => "new",
            DedupOutcome::Duplicate => "duplicate",
            DedupOutcome::InProgress => "in_progress",
            DedupOutcome::StoreError => "store_error",
        }
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
            ("cert_downloads", "Cert chain downloads", c.downloads),
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
        Ok(())
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
            "Messaging.MessageReceived dedup claims, by outcome",
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
            "Handler failures, by kind (error, unavailable, panic, deadline, response_too_large)",
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
        if let Some(cert) = cert {
            registry.register_collector(Box::new(CertCacheCollector(cert)));
        }
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
        })
    }

    /// Count one answered request.
    pub fn request(&self, request_type: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                request_type: known_request_type(request_type),
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

    /// Count a dedup outcome.
    pub fn dedup(&self, outcome: DedupOutcome) {
        self.dedup_outcomes
            .get_or_create(&OutcomeLabel {
                outcome: outcome.label(),
            })
            .inc();
    }

    /// Record a handler run's duration.
    pub fn handler_duration(&self, elapsed: Duration) {
        self.handler_duration.observe(elapsed.as_secs_f64());
    }

    /// Count a handler failure.
    pub fn handler_error(&self, kind: &'static str) {
        self.handler_errors.get_or_create(&KindLabel { kind }).inc();
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

    /// Render the exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Map a wire request type to a label from a closed set.
fn known_request_type(t: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "Messaging.MessageReceived",
        "LaunchRequest",
        "IntentRequest",
        "SessionEndedRequest",
        "CanFulfillIntentRequest",
        "AlexaSkillEvent.SkillEnabled",
        "AlexaSkillEvent.SkillDisabled",
        "AlexaSkillEvent.SkillPermissionAccepted",
        "AlexaSkillEvent.SkillPermissionChanged",
        "AlexaSkillEvent.SkillAccountLinked",
        "AlexaHouseholdListEvent.ItemsCreated",
        "AlexaHouseholdListEvent.ItemsUpdated",
        "AlexaHouseholdListEvent.ItemsDeleted",
        "AlexaHouseholdListEvent.ListCreated",
        "AlexaHouseholdListEvent.ListUpdated",
        "AlexaHouseholdListEvent.ListDeleted",
        "System.ExceptionEncountered",
        "Connections.Response",
    ];
    KNOWN
        .iter()
        .find(|k| **k == t)
        .copied()
        .unwrap_or(if t.is_empty() { "none" } else { "other" })
}
