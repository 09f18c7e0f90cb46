//! Binary-side command definitions.

pub mod dev;
