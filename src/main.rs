//! The `alexa-endpoint` binary: a thin CLI over the library.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc malloc: the request path allocates a few dozen
/// small objects per request, and glibc's malloc/free/memmove were 12.6 % of
/// the endpoint's CPU under load (BENCHMARKS.md). Declaring it needs no
/// `unsafe` here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The error and its causes on one line, each text once: an error that
/// already quotes its source is not followed by it again.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("alexa-endpoint: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alexa-endpoint: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}
