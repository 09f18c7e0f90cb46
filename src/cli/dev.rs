//! `alexa-endpoint dev pki DIR` and `alexa-endpoint dev sign FILE`.

use std::io::Write;
use std::path::{Path, PathBuf};

use alexa_endpoint::dev::{pki::files, refresh_timestamp, sign_body, TestPki};
use anyhow::Context as _;

/// Local tooling: a test PKI, and signing payloads with it.
#[derive(Debug, clap::Subcommand)]
pub enum DevCommand {
    /// Write a local test PKI (root, intermediate, leaf with SAN
    /// echo-api.amazon.com, chain.pem) and a verification.toml that trusts it.
    Pki {
        /// Directory to write into (created if needed).
        dir: PathBuf,
    },
    /// Sign a request payload: fresh timestamp, Signature-256 and
    /// SignatureCertChainUrl headers.
    Sign {
        /// JSON request envelope to sign.
        file: PathBuf,
        /// Directory written by `dev pki`.
        #[arg(long, value_name = "DIR", default_value = "./dev-pki")]
        pki: PathBuf,
        /// Set request.requestId (default: keep the file's).
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        /// Print a ready-to-paste curl command POSTing to URL instead.
        #[arg(long, value_name = "URL")]
        curl: Option<String>,
    },
}

/// Run a `dev` subcommand, printing to stdout.
pub fn run(cmd: DevCommand) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    run_to(cmd, &mut stdout.lock())
}

fn run_to(cmd: DevCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        DevCommand::Pki { dir } => pki(&dir, out),
        DevCommand::Sign {
            file,
            pki,
            request_id,
            curl,
        } => sign(&file, &pki, request_id.as_deref(), curl.as_deref(), out),
    }
}

fn pki(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let pki = TestPki::generate().context("generating the test PKI")?;
    let dir = pki
        .write_to(dir)
        .with_context(|| format!("writing the test PKI to {}", dir.display()))?;
    writeln!(out, "Wrote a test PKI to {}:", dir.display())?;
    for name in [
        files::ROOT,
        files::INTERMEDIATE,
        files::LEAF,
        files::LEAF_KEY,
        files::CHAIN,
        files::CONFIG,
    ] {
        writeln!(out, "  {}", dir.join(name).display())?;
    }
    writeln!(
        out,
        "\nServe with full verification against it:\n  alexa-endpoint serve --config {}\n\
         Sign a payload:\n  alexa-endpoint dev sign PAYLOAD.json --pki {} --curl http://127.0.0.1:8080/",
        dir.join(files::CONFIG).display(),
        dir.display()
    )?;
    Ok(())
}

fn sign(
    file: &Path,
    pki_dir: &Path,
    request_id: Option<&str>,
    curl: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let pki = TestPki::load(pki_dir).with_context(|| {
        format!(
            "loading the test PKI from {} (create it with `alexa-endpoint dev pki {}`)",
            pki_dir.display(),
            pki_dir.display()
        )
    })?;
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let body = refresh_timestamp(&raw, time::OffsetDateTime::now_utc(), request_id)
        .with_context(|| format!("{}", file.display()))?;
    let headers = sign_body(&pki, &body)?;
    match curl {
        Some(url) => writeln!(out, "{}", headers.curl_command(url, &body))?,
        None => {
            writeln!(out, "SignatureCertChainUrl: {}", headers.cert_url)?;
            writeln!(out, "Signature-256: {}", headers.signature_256)?;
            writeln!(out)?;
            out.write_all(&body)?;
            writeln!(out)?;
        }
    }
    Ok(())
}
