//! The `alexa-endpoint` binary (CLI skeleton; filled in by the core work).

fn main() {}
