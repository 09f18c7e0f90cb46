//! `[verification]`: signature, cert chain, timestamp, skill id.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::units::{self, millis, range, secs};
use crate::config::Problem;

/// `[verification]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationConfig {
    /// Master switch; `false` disables every check (local replay only).
    pub enabled: bool,
    /// Skill ids (`amzn1.ask.skill....`) this endpoint answers for.
    #[serde(default)]
    pub skill_ids: Vec<String>,
    /// Accept any skill id (verification of signature etc. still applies).
    pub allow_any_skill: bool,
    /// `timestamp_tolerance_secs`: largest allowed `|now - timestamp|`.
    #[serde(rename = "timestamp_tolerance_secs", with = "secs")]
    pub timestamp_tolerance: Duration,
    /// Accept the legacy SHA-1 `Signature` header when `Signature-256` is absent.
    pub accept_legacy_sha1: bool,
    /// `cert_fetch_timeout_ms`: timeout of one cert chain download attempt.
    #[serde(rename = "cert_fetch_timeout_ms", with = "millis")]
    pub cert_fetch_timeout: Duration,
    /// Cert chain downloads running at once, at most; one more answers 503
    /// at once.
    #[serde(default = "default_cert_download_concurrency")]
    pub cert_download_concurrency: usize,
    /// `cert_failure_ttl_secs`: how long a cert URL whose download (or
    /// chain) failed is answered from memory without a new download; zero
    /// remembers nothing.
    #[serde(
        rename = "cert_failure_ttl_secs",
        with = "secs",
        default = "default_cert_failure_ttl"
    )]
    pub cert_failure_ttl: Duration,
    /// Extra trusted root certificates (PEM), added to the built-in web PKI
    /// roots; a relative path in the config file is relative to the file's
    /// directory.
    #[serde(default)]
    pub extra_roots: Option<PathBuf>,
    /// Cert chains served from disk instead of downloaded, keyed by
    /// normalised URL (relative paths: as `extra_roots`).
    #[serde(default)]
    pub preloaded_certs: BTreeMap<String, PathBuf>,
}

fn default_cert_download_concurrency() -> usize {
    4
}

fn default_cert_failure_ttl() -> Duration {
    Duration::from_secs(60)
}

impl VerificationConfig {
    /// Check what serde cannot: a skill id or an explicit "any", bounds.
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        if self.enabled && self.skill_ids.is_empty() && !self.allow_any_skill {
            return Err(Problem::new(
                "verification.skill_ids",
                "is empty: list your skill id(s), or set verification.allow_any_skill = true \
                 (verification.enabled = true refuses to guess which skill it serves)",
            ));
        }
        units::secs_range(
            "verification.timestamp_tolerance_secs",
            self.timestamp_tolerance,
            1,
            3600,
        )?;
        units::millis_range(
            "verification.cert_fetch_timeout_ms",
            self.cert_fetch_timeout,
            1,
            60_000,
        )?;
        range(
            "verification.cert_download_concurrency",
            self.cert_download_concurrency,
            1,
            256,
        )?;
        units::secs_range(
            "verification.cert_failure_ttl_secs",
            self.cert_failure_ttl,
            0,
            3600,
        )?;
        Ok(())
    }
}
