//! The embedding contract: `Endpoint::router()` and `ops_router()` inside a
//! host app with its own fallback and `/healthz`, served by `axum::serve`,
//! and `Endpoint::shutdown` waiting for an in-flight handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::{Endpoint, Response, Skill};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tokio::sync::Notify;

use crate::support::helpers::*;
use crate::support::wait::eventually;

const ACK: &str = r#"{"version":"1.0","response":{}}"#;

#[tokio::test]
async fn an_app_with_its_own_fallback_and_healthz_embeds_the_endpoint() {
    init_logs();
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let finished = Arc::new(AtomicBool::new(false));
    let skill = {
        let (entered, release, finished) = (entered.clone(), release.clone(), finished.clone());
        Skill::builder()
            .on_message(move |_ctx, _msg| {
                let (entered, release, finished) =
                    (entered.clone(), release.clone(), finished.clone());
                async move {
                    entered.notify_one();
                    release.notified().await;
                    finished.store(true, Ordering::SeqCst);
                    Ok(Response::ack())
                }
            })
            .build()
    };
    let mut cfg = test_config();
    cfg.server.path = "/alexa".into();
    let endpoint = Endpoint::new(skill, &cfg).unwrap();
    let app = Router::new()
        .route("/", get(|| async { "my app" }))
        .route("/healthz", get(|| async { "the app's own healthz" }))
        .merge(endpoint.router())
        .nest("/ops", endpoint.ops_router())
        .fallback(|| async { (StatusCode::NOT_FOUND, "the app's own 404") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Notify::new());
    let server = {
        let (stop, endpoint) = (stop.clone(), endpoint.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    stop.notified().await;
                    endpoint.shutdown(Duration::from_secs(30)).await;
                })
                .await
        })
    };
    let client = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");

    // The app's own routes and 404 answer as before.
    let res = client.get(url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "the app's own healthz");
    let res = client.get(url("/")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "my app");
    let res = client.get(url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.text().await.unwrap(), "the app's own 404");
    // The endpoint adds no root ops routes: the app's fallback answers them.
    let res = client.get(url("/metrics")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "the app's own 404");
    assert_eq!(
        client
            .get(url("/ops/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(url("/ops/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The skill path handles a message; shutdown waits for its handler.
    let in_flight = {
        let (client, url) = (client.clone(), url("/alexa"));
        tokio::spawn(async move { client.post(url).body(seed_payload()).send().await })
    };
    entered.notified().await;
    let shutdown = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move { endpoint.shutdown(Duration::from_secs(30)).await })
    };
    // /ops/readyz turns 503 while the handler is still blocked.
    eventually(
        "/ops/readyz answering 503",
        Duration::from_secs(30),
        async || {
            let status = client
                .get(url("/ops/readyz"))
                .send()
                .await
                .unwrap()
                .status();
            if status != 503 {
                assert_eq!(status, 200);
            }
            status == 503
        },
    )
    .await;
    assert!(
        !shutdown.is_finished(),
        "shutdown returned before the handler finished"
    );
    release.notify_one();
    shutdown.await.unwrap();
    assert!(finished.load(Ordering::SeqCst));
    let res = in_flight.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), ACK);
    stop.notify_one();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_router_nests_under_a_prefix_and_serves_only_its_post() {
    use tower::ServiceExt;
    let mut cfg = test_config();
    cfg.server.path = "/alexa".into();
    let endpoint = Endpoint::new(Skill::builder().build(), &cfg).unwrap();
    let app = Router::new().nest("/skill", endpoint.router());
    let post = |path: &str| {
        http::Request::post(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(seed_payload()))
            .unwrap()
    };
    // No message handler: the default answer (500 no_handler) shows the
    // request reached the endpoint.
    let res = app.clone().oneshot(post("/skill/alexa")).await.unwrap();
    assert_eq!(res.status(), 500);
    let res = app.clone().oneshot(post("/alexa")).await.unwrap();
    assert_eq!(res.status(), 404);
    let get = http::Request::get("/skill/healthz")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(get).await.unwrap().status(), 404);
}
