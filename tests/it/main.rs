//! All integration tests in one binary, so they compile once.

// A failed unwrap is a failed test, with the error in the panic message.
#![allow(clippy::unwrap_used)]

mod dedup_store;
mod support;
