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
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // Take from the shared queue on every scheduler tick. With many more
    // ready connections than fit a worker's local queue, tokio parks the
    // overflow (the connections that have waited longest) in the shared
    // queue and, by default, looks there only every few ticks, while freshly
    // woken connections keep refilling the local queue: p99 at 1,024
    // connections was 176 ms with the default and 60 ms with 1 (BENCHMARKS.md,
    // "Overload").
    builder.global_queue_interval(1);
    let runtime = match builder.build() {
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
