//! The checks `serve` makes at start-up short of binding sockets and
//! connecting: every file the configuration names is read and parsed (TLS
//! certificate and key, `extra_roots`, `preloaded_certs`, Redis CA files),
//! every Redis URL is checked with the TLS options it would use.
//! `check-config` and `serve` both run them, so a config that passes
//! `check-config` does not fail `serve` for any of these reasons.

use crate::config::{Config, ConfigError, ConfigWarning, DedupStoreConfig, Problem};

impl Config {
    /// Check the files and URLs the configuration names, as `serve` would
    /// at start-up, without binding or connecting. The error names the key
    /// and where its value came from; the warnings are what `serve` accepts
    /// and logs (a preloaded cert chain that is not valid now).
    pub fn preflight(&self) -> Result<Vec<ConfigWarning>, ConfigError> {
        let warnings = check(self).map_err(|problem| self.error(problem))?;
        Ok(warnings
            .into_iter()
            .map(|problem| ConfigWarning {
                source_of_value: self.source_of(&problem.key),
                key: problem.key,
                reason: problem.reason,
            })
            .collect())
    }
}

fn check(cfg: &Config) -> Result<Vec<Problem>, Problem> {
    let mut warnings = Vec::new();
    if let Some(tls) = &cfg.server.tls {
        crate::server::tls::check(tls)?;
    }
    if cfg.verification.enabled {
        // Builds exactly what `serve` builds: trust anchors with
        // `extra_roots`, every preloaded chain read and parsed.
        let verifier = crate::verify::Verifier::from_config(&cfg.verification)
            .map_err(|e| Problem::new(e.key, e.reason))?;
        warnings.extend(
            verifier
                .preload_warnings()
                .iter()
                .map(|w| Problem::new("verification.preloaded_certs", w.clone())),
        );
    }
    if let DedupStoreConfig::Redis(redis) = &cfg.dedup.store {
        crate::dedup::check_redis_config(redis, cfg.dedup.store_timeout)?;
    }
    #[cfg(feature = "queue")]
    if let Some(queue) = &cfg.handler.queue {
        if let crate::config::QueueBackend::RedisStream(r) = &queue.backend {
            crate::handlers::queue::redis_stream::redis_client(r, cfg.handler.deadline)
                .map_err(|e| Problem::new(e.key(), e.reason()))?;
        }
    }
    Ok(warnings)
}
