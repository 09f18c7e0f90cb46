//! Built-in handlers of the binary, chosen by `handler.kind`.

pub mod list_sync;
pub mod webhook;
