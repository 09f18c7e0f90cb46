//! All integration tests in one binary, so they compile once.

mod envelope;
