//! All integration tests in one binary (compiled once).

mod verify_cert_url;
mod verify_chain;
mod verify_dev;
mod verify_https_source;
mod verify_requests;
mod verify_signature;
mod verify_store;
mod verify_support;
