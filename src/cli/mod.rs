//! Command-line interface.

pub mod dev;
pub mod notify;
pub mod send;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use alexa_endpoint::config::{Config, ConfigError};
use alexa_endpoint::http_client::HttpPolicy;

/// The Alexa skill endpoint server.
#[derive(Parser, Debug)]
#[command(name = "alexa-endpoint", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the endpoint.
    Serve {
        /// TOML config file, layered over the embedded secure defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Load and validate the config and check every file it names (what
    /// `serve` checks before it binds and connects), then print the
    /// effective config (secrets redacted).
    CheckConfig {
        /// TOML config file, layered over the embedded secure defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Send a message through the Skill Messaging API (what a third-party app
    /// does); credentials from ALEXA_CLIENT_ID / ALEXA_CLIENT_SECRET.
    Send(Box<send::SendArgs>),
    /// Send a proactive event (notification) to one user or all subscribed
    /// users; credentials from ALEXA_CLIENT_ID / ALEXA_CLIENT_SECRET.
    Notify(Box<notify::NotifyArgs>),
    /// Local tooling: make a test PKI and sign payloads with it, to replay
    /// requests with full verification.
    #[command(subcommand)]
    Dev(dev::DevCommand),
    /// GET a URL and exit 0 on HTTP 200 (the container's HEALTHCHECK; no curl needed).
    Healthcheck {
        /// e.g. http://127.0.0.1:9090/healthz (the admin listener)
        #[arg(default_value = "http://127.0.0.1:9090/healthz")]
        url: String,
    },
}

/// Run one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => serve(config).await,
        Command::CheckConfig { config } => {
            let config = Config::load(config.as_deref())?;
            for warning in config.preflight()? {
                eprintln!("alexa-endpoint: warning: {warning}");
            }
            print!("{}", config.redacted());
            Ok(())
        }
        Command::Healthcheck { url } => healthcheck(&url).await,
        Command::Send(args) => send::run(*args).await,
        Command::Notify(args) => notify::run(*args).await,
        Command::Dev(cmd) => dev::run(cmd),
    }
}

/// Load, validate and preflight the configuration, as `check-config`
/// does. The preflight's warnings are logged by the endpoint itself once
/// logging is set up.
fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
    let config = Config::load(file)?;
    config.preflight()?;
    Ok(config)
}

async fn serve(config_file: Option<PathBuf>) -> anyhow::Result<()> {
    let config = load(config_file.as_deref())?;
    let traces = alexa_endpoint::telemetry::init_with_traces(config.log.format, &config.telemetry)
        .context("configuration")?;
    let served = async {
        let skill = alexa_endpoint::handlers::connect_skill_from_config(&config).await?;
        let server = alexa_endpoint::Server::bind(skill, config).await?;
        server.run().await?;
        anyhow::Ok(())
    }
    .await;
    if let Some(traces) = traces {
        // Bounded by the export timeout; blocking, so off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    served
}

async fn healthcheck(url: &str) -> anyhow::Result<()> {
    // Plain HTTP allowed: the admin listener serves no TLS.
    let client = HttpPolicy::new(Duration::from_secs(3))
        .build()
        .context("building HTTP client")?;
    let status = client
        .get(url)
        .send()
        .await
        .context(url.to_owned())?
        .status();
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    Ok(())
}
