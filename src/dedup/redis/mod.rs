//! `dedup.backend = "redis"`: one store shared by every replica, on one
//! Redis node or a Redis Cluster, over TCP or TLS.
//!
//! Layout: key `key_prefix + request_id`, value the owner token while
//! claimed, [`DONE`] once finished; the key's own expiry is the claim TTL or
//! the done TTL. Each operation is one round trip on one key (single-slot in
//! a Cluster): a new message costs two (claim: a plain `SET NX` pipelined
//! with a `GET` that tells who holds a taken key; finish: a Lua
//! compare-and-set), a duplicate one (the claim).
//!
//! The store also watches for the server losing its data: see [`marker`].

mod marker;
mod scripts;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redis::RedisError;
use tokio::sync::OnceCell;

use self::marker::MarkerWatch;
use self::scripts::{Arg, ScriptCall, FINISH, RELEASE};
use super::{Claim, DedupStore, ResetObserver, StoreError};
use crate::config::SecretUrl;
use crate::dedup::{RedisDedupConfig, RedisTarget};
use crate::redis_conn::{describe_error, RedisClient, RedisConn, RedisSettings};

/// Value of a finished request id. Owner tokens are hex, so never equal it.
const DONE: &str = "done";

/// How often a claim is tried when the key it found taken is gone by the
/// time it looks (expired or released in between).
const CLAIM_ATTEMPTS: usize = 3;

/// Dedup store in Redis, shared by replicas.
///
/// The connection is made on the first call, not at construction, so an
/// endpoint starts while Redis is down; a failed first connection is retried
/// on the next call. Once made, the connection replaces a dropped socket by
/// itself. Every call, connecting included, is bounded by the store timeout.
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: RedisClient,
    conn: OnceCell<RedisConn>,
    prefix: String,
    timeout: Duration,
    marker: MarkerWatch,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's Debug shows the redacted target only.
        f.debug_struct("RedisStore")
            .field("client", &self.inner.client)
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .field("connected", &self.inner.conn.initialized())
            .finish()
    }
}

impl RedisStore {
    /// A single-node store at `url` (`redis://[user:password@]host[:port][/db]`,
    /// `rediss://...` verified against the web PKI roots, or
    /// `redis+unix:///path`) whose keys start with `key_prefix` and whose
    /// every call is bounded by `timeout`.
    ///
    /// Only checks the URL: no connection is made here.
    pub fn new(url: &SecretUrl, key_prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        let target = RedisTarget::Single(url.clone());
        Self::build(settings(&target, None, timeout), key_prefix)
    }

    /// The store described by `[dedup]` with `backend = "redis"`: one node
    /// or a Cluster, `redis_tls_ca` for `rediss://`; every call bounded by
    /// `timeout` (`dedup.store_timeout_ms`).
    ///
    /// Reads the CA file, checks the URLs: no connection is made here.
    pub fn from_config(cfg: &RedisDedupConfig, timeout: Duration) -> Result<Self, StoreError> {
        Self::build(
            settings(&cfg.target, cfg.tls_ca.as_deref(), timeout),
            &cfg.key_prefix,
        )
    }

    fn build(settings: RedisSettings<'_>, key_prefix: &str) -> Result<Self, StoreError> {
        let timeout = settings.timeout;
        let client =
            RedisClient::new(settings).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                marker: MarkerWatch::new(key_prefix, client.is_cluster()),
                client,
                conn: OnceCell::new(),
                prefix: key_prefix.to_owned(),
                timeout,
            }),
        })
    }

    fn key(&self, request_id: &str) -> String {
        let mut key = String::with_capacity(self.inner.prefix.len() + request_id.len());
        key.push_str(&self.inner.prefix);
        key.push_str(request_id);
        key
    }

    /// `SET key owner NX PX ttl` and `GET key`, pipelined: one round trip.
    /// Whether the key was free and is now held, and else what holds it
    /// (`None`: it expired or was released between the two commands).
    async fn set_nx_or_get(
        &self,
        key: &str,
        owner: &str,
        ttl_ms: u64,
    ) -> Result<(bool, Option<String>), StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(key)
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        pipe.cmd("GET").arg(key);
        let pipe = &pipe;
        let (set, holder): (Option<redis::Value>, Option<String>) = self
            .inner
            .call(|mut conn| async move { pipe.query_async(&mut conn).await })
            .await?;
        Ok((matches!(set, Some(redis::Value::Okay)), holder))
    }

    /// Run one script call; its integer answer.
    async fn script(&self, call: ScriptCall<'_>) -> Result<i64, StoreError> {
        self.inner
            .call(|mut conn| async move { call.invoke(&mut conn).await })
            .await
    }
}

impl Inner {
    /// Run `op` on the (lazily made) connection within the store timeout,
    /// then start a data-loss check when one is due.
    ///
    /// A connection-level error is retried once: the connection has started
    /// a fresh socket by then, so the first call after Redis came back
    /// succeeds instead of reporting the old socket's death. Every script is
    /// idempotent for its owner, so a retry after a lost reply is safe.
    async fn call<T, F, Fut>(self: &Arc<Self>, op: F) -> Result<T, StoreError>
    where
        F: Fn(RedisConn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let result = self.bounded(op).await;
        if self.marker.due() {
            let this = self.clone();
            tokio::spawn(async move { this.check_marker().await });
        }
        result
    }

    async fn bounded<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(RedisConn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let work = async {
            let conn = self.conn().await?;
            match op(conn.clone()).await {
                Err(e) if e.is_io_error() || e.is_unrecoverable_error() => {
                    // The server may have restarted: look at the marker soon.
                    self.marker.check_soon();
                    tracing::debug!(redis = %self.client.shown(), error = %describe_error(&e),
                        "dedup store: retrying once on a new connection");
                    op(conn.clone()).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if e.is_timeout() => Err(StoreError::Timeout),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_unrecoverable_error() || e.is_connection_dropped() {
                    self.marker.check_soon();
                }
                Err(StoreError::Unavailable(format!(
                    "redis {}: {}",
                    self.client.shown(),
                    describe_error(&e)
                )))
            }
            Err(_) => Err(StoreError::Timeout),
        }
    }

    async fn conn(&self) -> Result<&RedisConn, RedisError> {
        self.conn.get_or_try_init(|| self.client.connect()).await
    }

    /// Look for the marker(s) now, bounded by the store timeout; logs what it
    /// finds. Only one check runs at a time.
    async fn check_marker(&self) {
        let Some(_running) = self.marker.start() else {
            return;
        };
        let check = async {
            let mut conn = self.conn().await?.clone();
            self.marker.check(&mut conn, self.client.shown()).await
        };
        // A cluster check makes one call per primary: give it a few timeouts.
        match tokio::time::timeout(self.timeout * 4, check).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.marker.check_soon();
                tracing::debug!(redis = %self.client.shown(), error = %describe_error(&e),
                    "dedup store: data-loss marker check failed; retrying on a later call");
            }
            Err(_) => {
                self.marker.check_soon();
                tracing::debug!(redis = %self.client.shown(),
                    "dedup store: data-loss marker check timed out; retrying on a later call");
            }
        }
    }
}

/// Milliseconds for `PX`, which rejects 0.
fn px(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
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
        // One round trip, no script (the claim script cost Redis twice the
        // time of a `SET NX`): the `GET` tells who holds a taken key. The key
        // can expire or be released between the two: then try again.
        for _ in 0..CLAIM_ATTEMPTS {
            let (claimed, holder) = self.set_nx_or_get(&key, owner, ttl).await?;
            if claimed {
                return Ok(Claim::New);
            }
            match holder.as_deref() {
                // The holder's own retried claim (a reply lost on the way).
                Some(v) if v == owner => return Ok(Claim::New),
                Some(DONE) => return Ok(Claim::Done),
                Some(_) => return Ok(Claim::InProgress),
                None => continue,
            }
        }
        // Taken and gone again on every attempt: someone else is busy with it.
        Ok(Claim::InProgress)
    }

    async fn finish(&self, request_id: &str, owner: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = self.key(request_id);
        let ttl = px(ttl);
        let args = [Arg::Str(owner), Arg::Str(DONE), Arg::Int(ttl)];
        let code = self.script(FINISH.call(&key, &args)).await?;
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
        self.script(RELEASE.call(&key, &[Arg::Str(owner)])).await?;
        Ok(())
    }

    /// `PING` (every primary in Cluster mode), and the data-loss check when
    /// one is due: readiness probes keep an idle endpoint watching.
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self
            .inner
            .bounded(|mut conn| async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        if self.inner.marker.due() {
            self.inner.check_marker().await;
        }
        Ok(())
    }

    fn observe_resets(&self, observer: ResetObserver) {
        self.inner.marker.observe(observer);
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

/// The Redis settings of `[dedup]`, with the key names errors show.
fn settings<'a>(
    target: &'a RedisTarget,
    tls_ca: Option<&'a Path>,
    timeout: Duration,
) -> RedisSettings<'a> {
    RedisSettings {
        target,
        url_key: "dedup.redis_url",
        cluster_nodes_key: "dedup.redis_cluster_nodes",
        tls_ca_key: "dedup.redis_tls_ca",
        tls_ca,
        timeout,
    }
}

/// What [`RedisStore::from_config`] checks (URLs, TLS options, the CA
/// file), without building the store (`check-config`).
pub(crate) fn check_config(
    cfg: &RedisDedupConfig,
    timeout: Duration,
) -> Result<(), crate::config::Problem> {
    RedisClient::new(settings(&cfg.target, cfg.tls_ca.as_deref(), timeout))
        .map(drop)
        .map_err(|e| crate::config::Problem::new(e.key(), e.reason()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_errors_never_show_the_password() {
        let url = SecretUrl::parse("redis://alice:s3cret@127.0.0.1:1/0").unwrap();
        let store = RedisStore::new(&url, "p:", Duration::from_millis(50)).expect("valid URL");
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("alice"),
            "{shown}"
        );
        for bad in [
            "nonsense://:s3cret@host",
            "redis://:s3cret@host/not-a-db",
            "rediss://:s3cret@host/#insecure",
        ] {
            let bad = SecretUrl::parse(bad).unwrap();
            let err = RedisStore::new(&bad, "p:", Duration::from_millis(50)).expect_err("bad URL");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
    }

    #[tokio::test]
    async fn call_errors_never_show_the_password() {
        let url = SecretUrl::parse("redis://alice:s3cret@127.0.0.1:1/0").unwrap();
        let store = RedisStore::new(&url, "p:", Duration::from_millis(200)).expect("valid URL");
        let err = store.ping().await.expect_err("nothing listens on port 1");
        let text = err.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("alice"),
            "{text}"
        );
    }

    #[test]
    fn px_is_never_zero() {
        assert_eq!(px(Duration::ZERO), 1);
        assert_eq!(px(Duration::from_secs(2)), 2000);
    }
}
