//! Helpers shared by the integration tests.

pub mod alexa;
pub mod config;
#[allow(dead_code)]
pub mod helpers;
pub mod nats;
pub mod redis;
pub mod serve;
pub mod wait;
