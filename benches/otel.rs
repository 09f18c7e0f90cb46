//! Request latency with OpenTelemetry trace export off, and on with the
//! collector alive, dead (connection refused) or hanging (accepts, never
//! answers): a dead or hanging collector must cost no more than a live one.
//!
//! One `Messaging.MessageReceived` (verification off, memory dedup, a handler
//! that acknowledges) per iteration over loopback HTTP, the server and the
//! client on one current-thread runtime per variant, whose thread carries
//! that variant's subscriber (no log output in any variant). The live
//! collector runs on its own thread.
//!
//! `cargo bench --bench otel` (add `-- --quick` for a short run).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use alexa_endpoint::config::Config;
use alexa_endpoint::telemetry::{ExportSettings, TraceExport};
use alexa_endpoint::{Response, Server, Skill};
use criterion::Criterion;
use tracing_subscriber::layer::SubscriberExt as _;

/// Where the exporter sends, per variant.
enum Collector {
    Off,
    Alive(SocketAddr),
    Dead(SocketAddr),
    Hanging(SocketAddr),
}

impl Collector {
    fn name(&self) -> &'static str {
        match self {
            Collector::Off => "export_off",
            Collector::Alive(_) => "collector_alive",
            Collector::Dead(_) => "collector_dead",
            Collector::Hanging(_) => "collector_hanging",
        }
    }

    fn addr(&self) -> Option<SocketAddr> {
        match self {
            Collector::Off => None,
            Collector::Alive(a) | Collector::Dead(a) | Collector::Hanging(a) => Some(*a),
        }
    }
}

/// An OTLP sink answering 200 to everything, on its own thread.
fn live_collector() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(|_body: axum::body::Bytes| async { "" }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let _ = axum::serve(listener, app).await;
        });
    });
    rx.recv().expect("collector address")
}

/// Accepts connections and never writes a byte, on its own thread.
fn hanging_collector() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = Arc::new(Mutex::new(Vec::new()));
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            held.lock().unwrap_or_else(|p| p.into_inner()).push(socket);
        }
    });
    addr
}

/// A port nobody listens on: connections are refused.
fn dead_collector() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

fn main() {
    alexa_endpoint::install_crypto_provider();
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/message-received.json"
    ))
    .expect("sample");
    let mut v: serde_json::Value = serde_json::from_str(&sample).expect("json");
    v["request"]["requestId"] = "REQUEST-ID".into();
    let template = serde_json::to_string(&v).expect("json");
    let ids = AtomicU64::new(0);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("otel_request");
    for collector in [
        Collector::Off,
        Collector::Alive(live_collector()),
        Collector::Dead(dead_collector()),
        Collector::Hanging(hanging_collector()),
    ] {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let export = collector.addr().map(|addr| {
            rt.block_on(async {
                TraceExport::start(ExportSettings {
                    endpoint: format!("http://{addr}/v1/traces").parse().expect("url"),
                    service_name: "bench".into(),
                    sampling_ratio: 1.0,
                })
                .expect("export")
            })
        });
        let subscriber = tracing_subscriber::registry().with(
            export
                .as_ref()
                .map(|e| alexa_endpoint::telemetry::trace_layer(e.tracer())),
        );
        let guard = tracing::subscriber::set_default(subscriber);
        let (addr, stop) = rt.block_on(start_server());
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/");
        group.bench_function(collector.name(), |b| {
            b.iter(|| {
                let id = format!("bench-{}", ids.fetch_add(1, Ordering::Relaxed));
                let body = template.replace("REQUEST-ID", &id);
                let status = rt.block_on(async {
                    client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("answer")
                        .status()
                });
                assert_eq!(status, 200);
            })
        });
        let _ = stop.send(());
        // The runtime first: the export task ends, so dropping the provider
        // does not wait for a hanging collector.
        drop(rt);
        drop(guard);
        drop(export);
    }
    group.finish();
    c.final_summary();
}

async fn start_server() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let skill = Skill::builder()
        .on_message(|_ctx, _msg| async { Ok(Response::ack()) })
        .build();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("addr");
    config.server.admin_listen = "127.0.0.1:0".parse().expect("addr");
    let server = Server::bind(skill, config).await.expect("bind");
    let addr = server.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    (addr, tx)
}
