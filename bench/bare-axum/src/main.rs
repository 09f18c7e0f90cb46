//! Bare axum: POST / parses the body as JSON and answers `{"version":"1.0","response":{}}`.
//!
//! `bare-axum [ADDR]` (default 127.0.0.1:18081). One tokio worker thread, the
//! same runtime shape the endpoint gets when pinned to one CPU with `taskset`.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;

const ACK: &str = r#"{"version":"1.0","response":{}}"#;

async fn ack(body: Bytes) -> impl IntoResponse {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], ACK),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"malformed_json"}"#,
        ),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".to_owned());
    let app = Router::new().route("/", post(ack));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bare-axum listening on {addr}");
    axum::serve(listener, app).await
}
