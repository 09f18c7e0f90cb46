//! The `alexa-endpoint` binary (CLI skeleton; filled in by the core work).

use clap::Parser;

mod cli;

/// Alexa skill endpoint.
#[derive(Debug, Parser)]
#[command(name = "alexa-endpoint", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Local tooling: test PKI and request signing.
    #[command(subcommand)]
    Dev(cli::dev::DevCommand),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Dev(cmd) => cli::dev::run(cmd),
    }
}
