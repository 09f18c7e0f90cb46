//! Helpers shared by the integration tests.

pub mod alexa;
pub mod nats;
pub mod redis;
pub mod serve;
