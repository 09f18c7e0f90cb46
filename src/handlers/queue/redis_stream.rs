//! `backend = "redis-stream"`: `XADD <stream> [MAXLEN ~ n] * requestId <id>
//! payload <json>`; Redis' reply (the entry id) is the confirmation.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use super::{PublishError, Publisher, Redactor, STARTUP_TIMEOUT};
use crate::config::RedisStreamQueueConfig;
use crate::handlers::HandlerSetupError;

/// Open a self-reconnecting Redis connection for `url`, each command bounded
/// by `timeout`.
///
/// Kept apart so that a shared, TLS- and Cluster-aware Redis connector can
/// replace it without touching the publisher.
pub async fn connect_redis(
    url: &SecretString,
    timeout: Duration,
) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url.expose_secret())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(STARTUP_TIMEOUT.min(timeout.max(Duration::from_secs(1))))
        .set_response_timeout(timeout)
        // A failed reconnect is retried on the next command, not in a loop
        // that outlives the handler deadline.
        .set_number_of_retries(0);
    ConnectionManager::new_with_config(client, config).await
}

/// Appends messages to a Redis stream over one managed connection.
pub struct RedisStreamPublisher {
    conn: ConnectionManager,
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
        let conn =
            match tokio::time::timeout(STARTUP_TIMEOUT, connect_redis(&cfg.url, timeout)).await {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => {
                    return Err(redactor
                        .setup_error("handler.queue.url", format!("cannot connect to Redis: {e}")))
                }
                Err(_) => {
                    return Err(
                        redactor.setup_error("handler.queue.url", "Redis did not answer in time")
                    )
                }
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
            PublishError::Broker(self.redactor.clean(e))
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
