//! Built-in handlers of the binary, chosen by `handler.kind`.

pub mod webhook;
