//! Subcommands of the `alexa-endpoint` binary.

pub mod send;
