//! All integration tests, in one binary so they compile once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod helpers;

mod api_errors;
mod api_guard;
mod api_list_sync;
mod api_lists;
mod api_messaging;
mod api_proactive;
mod api_reminders;
mod api_retries;
mod api_support;
mod bad_input;
mod binary;
mod core;
mod dedup_server;
mod dedup_store;
mod envelope;
mod list_sync_server;
mod notify_cli;
mod observability;
mod reminders_server;
mod secrets;
mod send_cli;
mod soak;
mod support;
mod tls;
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
