//! The Grafana dashboard and the Prometheus alert rules in
//! `deploy/observability/` use only metric names a running server exposes on
//! `/metrics`, with labels those metrics carry: a renamed metric or label
//! fails here. The README's "Operate" section describes every panel and alert.
//!
//! PromQL is read by a small extractor: string literals, `[...]` ranges and
//! label lists after `by`/`without`/`on`/`ignoring`/`group_*` are skipped; an
//! identifier followed by `(` is a function; the rest, minus keywords, are
//! metric names, with the label names of their `{...}` matchers.

use std::collections::{BTreeMap, BTreeSet};

use alexa_endpoint::dev::{refresh_timestamp, sign_body};
use alexa_endpoint::envelope::MessageReceivedRequest;
use alexa_endpoint::{HandlerError, HandlerResult, RequestContext, Response, Skill};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use yaml_rust2::{Yaml, YamlLoader};

use crate::api_support::metadata_body;
use crate::support::helpers::*;
use crate::verify_support::{roots_file, CERT_URL, PKI, SKILL_ID};

const DASHBOARD: &str = "deploy/observability/dashboard.json";
const RULES: &str = "deploy/observability/rules.yaml";

/// Metrics the assets use whose series only appear after an event the
/// traffic of this test cannot cause (a queue publish needs a broker; the
/// queue tests check that metric). The test fails while a name listed here is
/// exposed, so the list cannot go stale.
const PENDING_METRICS: &[&str] = &["alexa_endpoint_queue_publish_total"];

/// `(metric, label)` matchers the assets use whose label is added on another
/// branch. Same rule as [`PENDING_METRICS`].
const PENDING_LABELS: &[(&str, &str)] = &[];

/// Series Prometheus makes itself, not the endpoint.
const PROMETHEUS_SERIES: &[&str] = &["up"];

/// Labels Prometheus attaches to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];

/// One metric selector in a PromQL expression.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Selector {
    metric: String,
    labels: Vec<String>,
}

/// Operators and modifiers, and aggregation operators (which may be
/// followed by `by (...)` before their parentheses).
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Index just past the string literal opening at `i` (quote at `s[i]`).
fn skip_string(s: &[u8], i: usize) -> usize {
    let quote = s[i];
    let mut j = i + 1;
    while j < s.len() && s[j] != quote {
        if s[j] == b'\\' && quote != b'`' {
            j += 1;
        }
        j += 1;
    }
    j + 1
}

/// Index just past the bracket matching the one at `i`, skipping strings.
fn skip_group(s: &[u8], i: usize, open: u8, close: u8) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j < s.len() {
        match s[j] {
            b'"' | b'\'' | b'`' => {
                j = skip_string(s, j);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    panic!(
        "unbalanced {:?} in {:?}",
        open as char,
        String::from_utf8_lossy(s)
    );
}

fn skip_spaces(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Label names of the matchers in `{...}` (the brace at `s[i]`); returns
/// them and the index past the closing brace.
fn matcher_labels(s: &[u8], i: usize) -> (Vec<String>, usize) {
    let end = skip_group(s, i, b'{', b'}');
    let mut labels = Vec::new();
    let mut j = i + 1;
    while j < end - 1 {
        let c = s[j];
        if c == b'"' || c == b'\'' || c == b'`' {
            j = skip_string(s, j);
        } else if is_ident_start(c) {
            let start = j;
            while j < end && is_ident_char(s[j]) {
                j += 1;
            }
            labels.push(String::from_utf8_lossy(&s[start..j]).into_owned());
        } else {
            j += 1;
        }
    }
    (labels, end)
}

/// Every metric selector in a PromQL expression.
fn selectors(expr: &str) -> Vec<Selector> {
    let s = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = skip_string(s, i);
        } else if c == b'[' {
            i = skip_group(s, i, b'[', b']');
        } else if c == b'{' {
            // A selector without a metric name (`{__name__=...}`) is not used
            // by the assets; treat it as a mistake rather than skip it.
            panic!("selector without a metric name in {expr:?}");
        } else if c == b'$' {
            // A Grafana variable outside a string or range.
            i += 1;
            while i < s.len() && (is_ident_char(s[i]) || s[i] == b'{' || s[i] == b'}') {
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == b'.' && s.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            // A number or a duration: 0.99, 1e3, 5m.
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.' || s[i] == b'_') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            let ident = &expr[start..i];
            let next = skip_spaces(s, i);
            let lower = ident.to_ascii_lowercase();
            if s.get(next) == Some(&b'(') {
                if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
                    i = skip_group(s, next, b'(', b')');
                }
                // Otherwise a function or aggregation: its arguments follow.
            } else if KEYWORDS.contains(&lower.as_str()) {
                // An operator or modifier keyword.
            } else {
                let mut labels = Vec::new();
                if s.get(next) == Some(&b'{') {
                    let (found, end) = matcher_labels(s, next);
                    labels = found;
                    i = end;
                }
                out.push(Selector {
                    metric: ident.to_owned(),
                    labels,
                });
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The PromQL inside a Grafana template variable query: `label_values(expr,
/// label)` gives `expr`; `label_values(label)` has none.
fn template_promql(query: &str) -> Option<&str> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unsupported template query {query:?}"));
    inner.rsplit_once(',').map(|(expr, _label)| expr.trim())
}

/// `(where, expr)` for every PromQL expression in the dashboard: panel
/// targets (rows included) and template variable queries.
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn panels(list: &Value, out: &mut Vec<(String, String)>) {
        for panel in list.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("?");
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("panel {title:?}: a target without expr"));
                out.push((format!("panel {title:?}"), expr.to_owned()));
            }
            panels(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dashboard["panels"], &mut out);
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if var["type"] != "query" {
            continue;
        }
        let name = var["name"].as_str().unwrap_or("?");
        let query = var["query"]["query"]
            .as_str()
            .or_else(|| var["query"].as_str())
            .unwrap_or_else(|| panic!("variable {name:?} without a query"));
        if let Some(expr) = template_promql(query) {
            out.push((format!("variable {name:?}"), expr.to_owned()));
        }
    }
    out
}

fn load_dashboard() -> Value {
    let text = std::fs::read_to_string(repo_path(DASHBOARD)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

fn load_rules() -> Vec<Yaml> {
    let text = std::fs::read_to_string(repo_path(RULES)).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{RULES}: {e}"));
    let groups = docs[0]["groups"].as_vec().expect("groups").clone();
    groups
        .iter()
        .flat_map(|g| g["rules"].as_vec().expect("rules").clone())
        .collect()
}

/// `(where, expr)` for every rule.
fn rule_exprs() -> Vec<(String, String)> {
    load_rules()
        .iter()
        .map(|rule| {
            let name = rule["alert"]
                .as_str()
                .or_else(|| rule["record"].as_str())
                .expect("alert or record name");
            let expr = rule["expr"].as_str().expect("expr");
            (format!("rule {name}"), expr.to_owned())
        })
        .collect()
}

/// What a `/metrics` exposition offers to PromQL.
#[derive(Debug, Default)]
struct Exposition {
    /// Every queryable series name (counters with `_total`, histograms'
    /// `_bucket`/`_sum`/`_count`, ...), whether or not it has samples yet.
    names: BTreeSet<String>,
    /// Label names seen on the samples of each series name.
    sample_labels: BTreeMap<String, BTreeSet<String>>,
}

/// Label names of a sample's `{k="v",...}` (the part inside the braces).
fn sample_label_names(labels: &str) -> BTreeSet<String> {
    let s = labels.as_bytes();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'"' {
            i = skip_string(s, i);
        } else if is_ident_start(s[i]) {
            let start = i;
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            names.insert(labels[start..i].to_owned());
        } else {
            i += 1;
        }
    }
    names
}

fn parse_exposition(text: &str) -> Exposition {
    let mut e = Exposition::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" | "gaugehistogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                "info" => &["_info"],
                _ => &[""],
            };
            for suffix in suffixes {
                e.names.insert(format!("{name}{suffix}"));
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line
                .find(['{', ' '])
                .unwrap_or_else(|| panic!("sample line {line:?}"));
            let name = &line[..end];
            let labels = match line[end..].strip_prefix('{') {
                Some(rest) => sample_label_names(&rest[..rest.rfind('}').expect("closing brace")]),
                None => BTreeSet::new(),
            };
            e.names.insert(name.to_owned());
            e.sample_labels
                .entry(name.to_owned())
                .or_default()
                .extend(labels);
        }
    }
    e
}

/// The Alexa API mock: the List Management metadata call answers 503 once, then 200.
async fn lists_api() -> MockServer {
    let api = MockServer::start().await;
    // The first call answers 503 once: retried, so the retry counter has a sample.
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .mount(&api)
        .await;
    api
}

/// Reads the user's lists, or fails as unavailable when the message says
/// `{"fail": true}`.
async fn lists_or_fail(ctx: RequestContext, msg: MessageReceivedRequest) -> HandlerResult {
    if msg.message.get("fail").is_some() {
        return Err(HandlerError::unavailable("asked to fail"));
    }
    ctx.lists()?.lists_metadata().await?;
    Ok(Response::ack())
}

/// A message for [`SKILL_ID`] whose `apiEndpoint` is `api`, signed by [`PKI`].
fn signed_message(api: &MockServer, message: Value) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let mut payload: Value =
        serde_json::from_slice(&message_body(&unique("assets"), message)).unwrap();
    payload["context"]["System"]["application"] = json!({"applicationId": SKILL_ID});
    payload["context"]["System"]["apiEndpoint"] = api.uri().into();
    payload["context"]["System"]["apiAccessToken"] = "Atza|assets-token".into();
    let body = refresh_timestamp(
        &serde_json::to_vec(&payload).unwrap(),
        time::OffsetDateTime::now_utc(),
        None,
    )
    .unwrap();
    let signed = sign_body(&PKI, &body).unwrap();
    let headers = vec![
        ("SignatureCertChainUrl", signed.cert_url),
        ("Signature-256", signed.signature_256),
    ];
    (body, headers)
}

/// `/metrics` of a server with full verification, after traffic that gives
/// every metric family a sample (an unused family is not exposed at all): a
/// signed message whose handler calls the Lists API, its re-delivery (a
/// duplicate), a signed message whose handler fails (503), and an unsigned
/// request (a verification failure).
async fn exposition_after_traffic() -> Exposition {
    let roots = roots_file(&[&PKI]);
    let mut chain = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut chain, PKI.chain_pem().as_bytes()).unwrap();
    let api = lists_api().await;
    let mut cfg = test_config();
    cfg.verification.enabled = true;
    cfg.verification.skill_ids = vec![SKILL_ID.to_owned()];
    cfg.verification.extra_roots = Some(roots.path().to_owned());
    cfg.verification.preloaded_certs =
        BTreeMap::from([(CERT_URL.to_owned(), chain.path().to_owned())]);
    cfg.alexa_api.allowed_endpoints = vec![api.uri()];
    let app = spawn_app(Skill::builder().on_message(lists_or_fail).build(), cfg).await;

    let (body, headers) = signed_message(&api, json!({"n": 1}));
    assert_eq!(app.post_with(body.clone(), &headers).await.status(), 200);
    assert_eq!(app.post_with(body.clone(), &headers).await.status(), 200);
    assert_eq!(app.post(body).await.status(), 400);
    let (failing, headers) = signed_message(&api, json!({"fail": true}));
    assert_eq!(app.post_with(failing, &headers).await.status(), 503);

    let res = app.admin_get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    app.stop().await;
    parse_exposition(&text)
}

#[tokio::test]
async fn every_metric_and_label_the_dashboard_and_rules_use_is_exposed() {
    let dashboard = load_dashboard();
    let mut exprs = dashboard_exprs(&dashboard);
    let from_dashboard = exprs.len();
    exprs.extend(rule_exprs());
    assert!(
        from_dashboard >= 10,
        "the dashboard has {from_dashboard} queries"
    );
    assert!(exprs.len() > from_dashboard, "no rules found in {RULES}");

    let exposed = exposition_after_traffic().await;
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    let mut unchecked_labels = BTreeSet::new();
    for (place, expr) in &exprs {
        let found = selectors(expr);
        if found.is_empty() {
            problems.push(format!("{place}: no metric found in {expr:?}"));
        }
        for sel in found {
            let metric = sel.metric.as_str();
            used.insert(metric.to_owned());
            if PROMETHEUS_SERIES.contains(&metric) || PENDING_METRICS.contains(&metric) {
                continue;
            }
            if !exposed.names.contains(metric) {
                problems.push(format!("{place}: `{metric}` is not in /metrics"));
                continue;
            }
            for label in &sel.labels {
                if TARGET_LABELS.contains(&label.as_str())
                    || PENDING_LABELS.contains(&(metric, label.as_str()))
                {
                    continue;
                }
                match exposed.sample_labels.get(metric) {
                    Some(seen) if !seen.contains(label) => problems.push(format!(
                        "{place}: `{metric}` has no label `{label}` (its samples carry {seen:?})"
                    )),
                    Some(_) => {}
                    None => {
                        unchecked_labels.insert(format!("{metric}{{{label}}}"));
                    }
                }
            }
        }
    }
    for pending in PENDING_METRICS {
        if exposed.names.contains(*pending) {
            problems.push(format!(
                "`{pending}` is exposed now: remove it from PENDING_METRICS"
            ));
        }
        if !used.contains(*pending) {
            problems.push(format!(
                "`{pending}` is in PENDING_METRICS but no asset uses it"
            ));
        }
    }
    for (metric, label) in PENDING_LABELS {
        if exposed
            .sample_labels
            .get(*metric)
            .is_some_and(|seen| seen.contains(*label))
        {
            problems.push(format!(
                "`{metric}` carries `{label}` now: remove it from PENDING_LABELS"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(exposed: {:?})",
        problems.join("\n"),
        exposed.names
    );
    // Families without a sample after the traffic above: their label names
    // could not be compared (the metric names were).
    eprintln!("labels not checked (no samples): {unchecked_labels:?}");
}

#[test]
fn every_alert_has_a_runbook_and_the_readme_describes_every_alert_and_panel() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let rules = load_rules();
    let expected = [
        "AlexaEndpointVerificationFailuresSpiking",
        "AlexaEndpointDedupStoreDown",
        "AlexaEndpointHandlerErrorRatio",
        "AlexaEndpointLatencyNearAlexaLimit",
        "AlexaEndpointShedding",
        "AlexaEndpointCertDownloadFailures",
    ];
    let names: Vec<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    for name in expected {
        assert!(names.contains(&name), "{RULES} has no alert {name}");
    }
    for rule in &rules {
        let name = rule["alert"].as_str().expect("alert rules only");
        for key in ["summary", "description", "runbook"] {
            let text = rule["annotations"][key].as_str().unwrap_or("");
            assert!(!text.trim().is_empty(), "{name}: annotation {key} missing");
        }
        assert!(
            rule["labels"]["severity"].as_str().is_some(),
            "{name}: no severity label"
        );
        assert!(readme.contains(name), "README does not describe {name}");
    }
    let dashboard = load_dashboard();
    let required_panels = [
        "Messages acknowledged",
        "Duplicates",
        "Rejections by reason",
        "Latency p50 / p99",
        "Handler errors and deadline overruns",
        "Dedup store errors",
        "Alexa API calls by status",
        "Cert cache",
        "In-flight and shed requests",
    ];
    let titles: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for title in required_panels {
        assert!(
            titles.contains(&title),
            "{DASHBOARD} has no panel {title:?}"
        );
    }
    for title in titles {
        assert!(
            readme.contains(&format!("**{title}**")),
            "README does not describe the panel {title:?}"
        );
    }
}

#[test]
fn the_promql_extractor_finds_metrics_and_their_matchers_only() {
    let sel = |m: &str, l: &[&str]| Selector {
        metric: m.to_owned(),
        labels: l.iter().map(|s| (*s).to_owned()).collect(),
    };
    assert_eq!(
        selectors(
            r#"histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{job="$job",instance=~"$instance"}[$__rate_interval])))"#
        ),
        vec![sel("a_bucket", &["job", "instance"])]
    );
    assert_eq!(
        selectors(
            r#"sum(rate(a_total{status!~"2..", x="}{[("}[5m] offset 1h)) / on (job) group_left(b) sum(b) > 1e3 and c unless d bool == 0"#
        ),
        vec![
            sel("a_total", &["status", "x"]),
            sel("b", &[]),
            sel("c", &[]),
            sel("d", &[]),
        ]
    );
    assert_eq!(
        selectors("sum without (reason) (x) by (le)"),
        vec![sel("x", &[])]
    );
    assert_eq!(selectors("up{job=\"a\"} == 0"), vec![sel("up", &["job"])]);
    assert_eq!(selectors("vector(1) > 0.5"), vec![]);
    assert_eq!(
        template_promql(r#"label_values(m{job="$job"}, instance)"#),
        Some(r#"m{job="$job"}"#)
    );
    assert_eq!(template_promql("label_values(job)"), None);
    let e = parse_exposition(
        "# TYPE a counter\n# TYPE h histogram\nh_bucket{le=\"1.0\",k=\"v,\\\"}\"} 1\n# TYPE b info\nb_info{version=\"1\"} 1\n# EOF\n",
    );
    for name in ["a_total", "h_bucket", "h_sum", "h_count", "b_info"] {
        assert!(e.names.contains(name), "{name} in {e:?}");
    }
    assert!(!e.names.contains("a"));
    assert_eq!(
        e.sample_labels["h_bucket"],
        BTreeSet::from(["le".to_owned(), "k".to_owned()])
    );
}
