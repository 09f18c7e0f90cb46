//! All integration tests, in one binary so they compile once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod helpers;

mod bad_input;
mod binary;
mod core;
mod observability;
mod secrets;
mod tls;
mod webhook;
