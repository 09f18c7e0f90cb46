//! # alexa-endpoint
//!
//! The HTTPS endpoint of an Alexa custom skill, headlined by
//! `Messaging.MessageReceived`: verify every request, run the registered
//! handler once per `requestId`, and acknowledge with HTTP 200 only after the
//! handler (and the Alexa API calls it made) finished.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dedup;
pub mod dev;
pub mod handlers;
pub mod verify;
