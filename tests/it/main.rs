//! Integration tests: one binary, compiled once.

mod api_errors;
mod api_guard;
mod api_list_sync;
mod api_lists;
mod api_messaging;
mod api_support;
mod send_cli;
