//! All integration tests, in one binary so they compile once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod helpers;

mod api_errors;
mod api_guard;
mod api_list_sync;
mod api_lists;
mod api_messaging;
mod api_support;
mod bad_input;
mod binary;
mod core;
mod dedup_cluster;
mod dedup_config;
mod dedup_loss;
mod dedup_server;
mod dedup_store;
mod dedup_tls;
mod embedding;
mod envelope;
mod handler_api;
mod input_caps;
mod list_sync_server;
mod listener;
mod listener_limits;
mod log_escaping;
mod observability;
mod observability_assets;
mod queue;
mod secrets;
mod send_cli;
mod soak;
mod support;
mod tls;
mod verify_cert_abuse;
mod verify_cert_url;
mod verify_chain;
mod verify_dev;
mod verify_https_source;
mod verify_requests;
mod verify_server;
mod verify_signature;
mod verify_store;
mod verify_support;
mod webhook;
