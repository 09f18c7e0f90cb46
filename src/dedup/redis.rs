//! `dedup.backend = "redis"`: one store shared by every replica.
//!
//! Layout: key `key_prefix + request_id`, value the owner token while
//! claimed, [`DONE`] once finished; the key's own expiry is the claim TTL or
//! the done TTL. Each operation is one Lua script, so one round trip, and
//! atomic: a message costs two round trips (claim, finish).

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::{socket2::TcpKeepalive, TcpSettings};
use redis::{RedisError, Script};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use super::{Claim, DedupStore, StoreError};

/// Value of a finished request id. Owner tokens are hex, so never equal it.
const DONE: &str = "done";

/// `SET NX` the claim; if the key exists, report what holds it.
/// Returns 0 = new (also when `owner` already holds it: a retried call),
/// 1 = done, 2 = claimed by another owner.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return 0 end
if v == ARGV[3] then return 1 end
return 2
",
    )
});

/// Compare-and-set the claim to the done mark.
/// Returns 1 = finished, 2 = already done, 0 = `owner` does not hold it.
static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if v == ARGV[2] then return 2 end
return 0
",
    )
});

/// Compare-and-delete the claim. Returns 1 = released, 0 = not held by `owner`.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

/// Dedup store in Redis, shared by replicas.
///
/// The connection is made on the first call, not at construction, so an
/// endpoint starts while Redis is down; a failed first connection is retried
/// on the next call. Once made, redis' `ConnectionManager` replaces a dropped
/// connection by itself. Every call, connecting included, is bounded by the
/// store timeout.
pub struct RedisStore {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    /// The URL without credentials, for logs and errors.
    display_url: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // redis::Client's own Debug would print the password.
        f.debug_struct("RedisStore")
            .field("url", &self.display_url)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("connected", &self.conn.initialized())
            .finish()
    }
}

impl RedisStore {
    /// A store at `url` (`redis://[user:password@]host[:port][/db]` or
    /// `redis+unix:///path`; `rediss://` needs redis' TLS feature, which this
    /// build does not enable) whose keys start with `key_prefix` and whose
    /// every call is bounded by `timeout`.
    ///
    /// Only parses the URL: no connection is made here.
    pub fn new(
        url: &SecretString,
        key_prefix: &str,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let display_url = redact(url.expose_secret());
        // redis' URL errors are fixed texts ("Invalid database number", ...),
        // they never quote the URL.
        let client = redis::Client::open(url.expose_secret())
            .map_err(|e| StoreError::Unavailable(format!("dedup.redis_url {display_url}: {e}")))?;
        Ok(Self {
            client,
            conn: OnceCell::new(),
            prefix: key_prefix.to_owned(),
            timeout,
            display_url,
        })
    }

    fn key(&self, request_id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + request_id.len());
        key.push_str(&self.prefix);
        key.push_str(request_id);
        key
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        let tcp = TcpSettings::default()
            // One small request per round trip: Nagle would delay it.
            .set_nodelay(true)
            // Notice a silently dead peer (failover, dropped NAT state) on an
            // idle connection.
            .set_keepalive(
                TcpKeepalive::new()
                    .with_time(Duration::from_secs(15))
                    .with_interval(Duration::from_secs(5)),
            );
        // ... and on a busy one: unacknowledged data for this long drops the
        // connection, which makes the manager reconnect.
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        let tcp = tcp.set_user_timeout(Duration::from_secs(5).max(self.timeout * 4));
        ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_tcp_settings(tcp)
            // No backoff loop inside the manager (its first delay is a fixed
            // 1-2 s, long after our timeout): a failed reconnect is retried by
            // the next call instead, see `call`.
            .set_number_of_retries(0)
    }

    /// Run `op` on the (lazily made) connection within the store timeout.
    ///
    /// A connection-level error is retried once: the manager has started a
    /// fresh connection by then, so the first call after Redis came back
    /// succeeds instead of reporting the old connection's death. Every script
    /// is idempotent for its owner, so a retry after a lost reply is safe.
    async fn call<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let work = async {
            let conn = self
                .conn
                .get_or_try_init(|| {
                    ConnectionManager::new_with_config(self.client.clone(), self.manager_config())
                })
                .await?;
            match op(conn.clone()).await {
                Err(e) if e.is_io_error() || e.is_unrecoverable_error() => {
                    tracing::debug!(url = %self.display_url, error = %e, "dedup store: retrying once on a new connection");
                    op(conn.clone()).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if e.is_timeout() => Err(StoreError::Timeout),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!(
                "redis {}: {e}",
                self.display_url
            ))),
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

/// Milliseconds for `PX`, which rejects 0.
fn px(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `url` without user name, password and query (`?pass=` of unix URLs).
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "[unparseable URL]".to_owned(),
    }
}

#[async_trait::async_trait]
impl DedupStore for RedisStore {
    async fn claim(
        &self,
        request_id: &str,
        owner: &str,
        claim_ttl: Duration,
    ) -> Result<Claim, StoreError> {
        debug_assert_ne!(owner, DONE, "owner token collides with the done mark");
        let key = self.key(request_id);
        let ttl = px(claim_ttl);
        let code: i64 = self
            .call(|mut conn| {
                let key = &key;
                async move {
                    CLAIM
                        .key(key)
                        .arg(owner)
                        .arg(ttl)
                        .arg(DONE)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        match code {
            0 => Ok(Claim::New),
            1 => Ok(Claim::Done),
            2 => Ok(Claim::InProgress),
            other => Err(StoreError::Unavailable(format!(
                "redis {}: claim script answered {other}",
                self.display_url
            ))),
        }
    }

    async fn finish(&self, request_id: &str, owner: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.key(request_id);
        let ttl = px(ttl);
        let code: i64 = self
            .call(|mut conn| {
                let key = &key;
                async move {
                    FINISH
                        .key(key)
                        .arg(owner)
                        .arg(DONE)
                        .arg(ttl)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        if code == 0 {
            tracing::warn!(
                request_id,
                "dedup claim was lost before finish (expired or taken over); \
                 the message may be handled twice"
            );
        }
        Ok(())
    }

    async fn release(&self, request_id: &str, owner: &str) -> Result<(), StoreError> {
        let key = self.key(request_id);
        let _: i64 = self
            .call(|mut conn| {
                let key = &key;
                async move { RELEASE.key(key).arg(owner).invoke_async(&mut conn).await }
            })
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self
            .call(|mut conn| async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_credentials() {
        let shown = redact("redis://user:s3cret@cache.internal:6380/2");
        assert!(
            !shown.contains("s3cret") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("cache.internal:6380"), "{shown}");
        let unix = redact("redis+unix:///run/redis.sock?db=1&pass=s3cret");
        assert!(!unix.contains("s3cret"), "{unix}");
    }

    #[test]
    fn debug_and_errors_never_show_the_password() {
        let url = SecretString::from("redis://:s3cret@127.0.0.1:1/0");
        let store = RedisStore::new(&url, "p:", Duration::from_millis(50)).expect("valid URL");
        assert!(!format!("{store:?}").contains("s3cret"));
        for bad in [
            "nonsense://:s3cret@host",
            "redis://:s3cret@host/not-a-db",
            "rediss://:s3cret@host",
        ] {
            let bad = SecretString::from(bad);
            let err = RedisStore::new(&bad, "p:", Duration::from_millis(50)).expect_err("bad URL");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn px_is_never_zero() {
        assert_eq!(px(Duration::ZERO), 1);
        assert_eq!(px(Duration::from_secs(2)), 2000);
    }
}
