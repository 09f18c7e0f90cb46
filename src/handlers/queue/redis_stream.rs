//! `backend = "redis-stream"`: `XADD <stream> [MAXLEN ~ n] * requestId <id>
//! payload <json>`; Redis' reply (the entry id) is the confirmation.

use std::time::Duration;

use async_trait::async_trait;

use super::RedisStreamQueueConfig;
use super::{PublishError, Publisher, Redactor, STARTUP_TIMEOUT};
use crate::dedup::RedisTarget;
use crate::handlers::HandlerSetupError;
use crate::redis_conn::{describe_error, RedisClient, RedisConn, RedisSettings, RedisSetupError};

/// Config key of the queue's Redis URL.
const URL_KEY: &str = "handler.queue.url";
/// Config key of the CA file for a `rediss://` queue URL.
const TLS_CA_KEY: &str = "handler.queue.redis_tls_ca";

/// Check the settings of `cfg` (URL, TLS options, CA file) with the same
/// rules as the dedup store's Redis: `rediss://` verifies certificate and
/// host name, against `redis_tls_ca` when set, else the web PKI roots.
/// A connection attempt is bounded by `timeout` (at least 1 s, at most
/// [`STARTUP_TIMEOUT`]).
pub(crate) fn redis_client(
    cfg: &RedisStreamQueueConfig,
    timeout: Duration,
) -> Result<RedisClient, RedisSetupError> {
    let target = RedisTarget::Single(cfg.url.clone());
    RedisClient::new(RedisSettings {
        target: &target,
        url_key: URL_KEY,
        cluster_nodes_key: URL_KEY,
        tls_ca_key: TLS_CA_KEY,
        tls_ca: cfg.redis_tls_ca.as_deref(),
        timeout: STARTUP_TIMEOUT.min(timeout.max(Duration::from_secs(1))),
    })
}

/// Appends messages to a Redis stream over one self-reconnecting connection.
pub struct RedisStreamPublisher {
    conn: RedisConn,
    stream: String,
    maxlen: Option<u64>,
    redactor: Redactor,
}

impl std::fmt::Debug for RedisStreamPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamPublisher")
            .field("url", &self.redactor.url())
            .field("stream", &self.stream)
            .field("maxlen", &self.maxlen)
            .finish_non_exhaustive()
    }
}

impl RedisStreamPublisher {
    /// Connect (Redis must answer at start-up); `timeout` bounds each XADD.
    pub async fn connect(
        cfg: &RedisStreamQueueConfig,
        timeout: Duration,
    ) -> Result<Self, HandlerSetupError> {
        let redactor = Redactor::new(&cfg.url);
        let client = redis_client(cfg, timeout).map_err(|e| HandlerSetupError {
            key: e.key(),
            reason: redactor.clean(e.reason()),
        })?;
        let conn = match tokio::time::timeout(STARTUP_TIMEOUT, client.connect()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return Err(redactor.setup_error(
                    URL_KEY,
                    format!("cannot connect to Redis: {}", describe_error(&e)),
                ))
            }
            Err(_) => return Err(redactor.setup_error(URL_KEY, "Redis did not answer in time")),
        };
        tracing::info!(url = redactor.url(), stream = %cfg.stream, "queue: appending to a Redis stream");
        Ok(Self {
            conn,
            stream: cfg.stream.clone(),
            maxlen: cfg.maxlen,
            redactor,
        })
    }

    fn error(&self, e: redis::RedisError) -> PublishError {
        if e.is_timeout() {
            PublishError::Timeout
        } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
            PublishError::NotConnected
        } else {
            PublishError::Broker(self.redactor.clean(describe_error(&e)))
        }
    }
}

#[async_trait]
impl Publisher for RedisStreamPublisher {
    async fn publish(&self, request_id: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.stream);
        if let Some(maxlen) = self.maxlen {
            cmd.arg("MAXLEN").arg("~").arg(maxlen);
        }
        cmd.arg("*")
            .arg("requestId")
            .arg(request_id)
            .arg("payload")
            .arg(payload);
        if let Some(traceparent) = crate::telemetry::spans::current_traceparent() {
            cmd.arg("traceparent").arg(traceparent);
        }
        let mut conn = self.conn.clone();
        cmd.query_async::<String>(&mut conn)
            .await
            .map(|_entry_id| ())
            .map_err(|e| self.error(e))
    }

    async fn ready(&self) -> Result<(), PublishError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| self.error(e))
    }
}
