//! Noticing that Redis lost its data.
//!
//! A Redis restarted without persistence (or flushed, or failed over to a
//! replica that was behind, or evicting keys) forgets which `requestId`s were
//! handled: re-deliveries inside `dedup.ttl_secs` then run their handler
//! again. To notice, the store keeps a marker key without expiry,
//! `key_prefix + "marker"`, and writes it with `SET NX`:
//! - the first look of this process creates it (or finds it, written by an
//!   earlier process or another replica);
//! - a later look that has to create it again means the dataset was lost:
//!   logged at error, counted (`alexa_endpoint_dedup_store_resets_total`
//!   through [`MarkerWatch::observe`]), and the marker is back in the same
//!   command. Of several replicas, the first that looks counts the loss.
//!
//! Looks are cheap (one `SET NX`) and happen at most once a second, on the
//! next store call or readiness probe, and at once after a connection error
//! (a restart breaks the connection).
//!
//! In Cluster mode each primary gets its own marker, under a key whose hash
//! slot that primary serves (`key_prefix + "marker:" + n`, `n` picked from
//! `CLUSTER SLOTS`), so a primary that lost its data is noticed on its own.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{RedisResult, Value};

use crate::dedup::ResetObserver;
use crate::redis_conn::RedisConn;

/// At most one look per this interval (unless a connection error asks for one).
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Bound on the search for a marker key in a primary's slot range.
const MAX_KEY_SEARCH: u32 = 1 << 20;

/// The marker(s) of one store, and what was seen of them.
pub(super) struct MarkerWatch {
    key: String,
    value: String,
    cluster: bool,
    epoch: Instant,
    /// Milliseconds since `epoch` when the next look is due.
    next_due_ms: AtomicU64,
    running: AtomicBool,
    /// Marker keys this process has found or written.
    seen: Mutex<HashSet<String>>,
    resets: AtomicU64,
    observers: Mutex<Vec<ResetObserver>>,
}

/// Ends a running look when dropped.
pub(super) struct Running<'a>(&'a MarkerWatch);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

impl MarkerWatch {
    pub(super) fn new(key_prefix: &str, cluster: bool) -> Self {
        let started = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Self {
            key: format!("{key_prefix}marker"),
            value: format!(
                "written by alexa-endpoint pid {} started {started}",
                std::process::id()
            ),
            cluster,
            epoch: Instant::now(),
            next_due_ms: AtomicU64::new(0),
            running: AtomicBool::new(false),
            seen: Mutex::new(HashSet::new()),
            resets: AtomicU64::new(0),
            observers: Mutex::new(Vec::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A look is due and none is running.
    pub(super) fn due(&self) -> bool {
        self.now_ms() >= self.next_due_ms.load(Ordering::Relaxed)
            && !self.running.load(Ordering::Relaxed)
    }

    /// Make the next call look (after a connection error or a failed look).
    pub(super) fn check_soon(&self) {
        self.next_due_ms.store(0, Ordering::Relaxed);
    }

    /// Claim the right to look now; `None` when another look is running.
    pub(super) fn start(&self) -> Option<Running<'_>> {
        self.running
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        let next = self
            .now_ms()
            .saturating_add(CHECK_INTERVAL.as_millis() as u64);
        self.next_due_ms.store(next, Ordering::Relaxed);
        Some(Running(self))
    }

    /// Call `observer` on every loss noticed from now on.
    pub(super) fn observe(&self, observer: ResetObserver) {
        if let Ok(mut observers) = self.observers.lock() {
            observers.push(observer);
        }
    }

    /// Look at every marker (one per primary in a Cluster); re-write and
    /// report the ones that vanished.
    pub(super) async fn check(&self, conn: &mut RedisConn, shown: &str) -> RedisResult<()> {
        let keys = if self.cluster {
            self.cluster_keys(conn).await?
        } else {
            vec![self.key.clone()]
        };
        for key in keys {
            let created: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&self.value)
                .arg("NX")
                .query_async(conn)
                .await?;
            let known = match self.seen.lock() {
                Ok(mut seen) => !seen.insert(key.clone()),
                Err(_) => false,
            };
            match (created.is_some(), known) {
                (true, true) => self.lost(shown, &key),
                (true, false) => {
                    tracing::info!(redis = %shown, marker = %key, "dedup store: data-loss marker written")
                }
                (false, _) => {}
            }
        }
        Ok(())
    }

    fn lost(&self, shown: &str, key: &str) {
        let count = self.resets.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::error!(
            redis = %shown,
            marker = %key,
            resets = count,
            "dedup store LOST ITS DATA: the marker key this endpoint found earlier is gone \
             (Redis restarted without persistence, was flushed, failed over to a replica that \
             was behind, or evicted keys). requestIds handled before are forgotten: Alexa \
             re-deliveries inside dedup.ttl_secs may run their handler twice. The marker is \
             written again; see the README on Redis persistence"
        );
        let observers = match self.observers.lock() {
            Ok(observers) => observers.clone(),
            Err(_) => Vec::new(),
        };
        for observer in observers {
            observer();
        }
    }

    /// One marker key per primary: for each primary's first slot range, a
    /// key under the prefix whose hash slot falls in that range.
    async fn cluster_keys(&self, conn: &mut RedisConn) -> RedisResult<Vec<String>> {
        let slots: Vec<Value> = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
        let mut primaries = HashSet::new();
        let mut keys = Vec::new();
        for entry in slots {
            let Some((start, end, primary)) = slot_range(&entry) else {
                continue;
            };
            if !primaries.insert(primary) {
                continue;
            }
            match (0..MAX_KEY_SEARCH)
                .map(|n| format!("{}:{n}", self.key))
                .find(|k| (start..=end).contains(&key_slot(k.as_bytes())))
            {
                Some(key) => keys.push(key),
                None => tracing::debug!(start, end, "no marker key found for a slot range"),
            }
        }
        Ok(keys)
    }
}

/// `[start, end, [host, port, ...], ...]` of `CLUSTER SLOTS`.
fn slot_range(entry: &Value) -> Option<(u16, u16, String)> {
    let Value::Array(items) = entry else {
        return None;
    };
    let int = |v: &Value| match v {
        Value::Int(n) => u16::try_from(*n).ok(),
        _ => None,
    };
    let start = int(items.first()?)?;
    let end = int(items.get(1)?)?;
    let Value::Array(node) = items.get(2)? else {
        return None;
    };
    let host = match node.first()? {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => return None,
    };
    let port = match node.get(1)? {
        Value::Int(n) => *n,
        _ => return None,
    };
    Some((start, end, format!("{host}:{port}")))
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of the key, or of its
/// `{hash tag}`, modulo 16384).
fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16_xmodem(hashed) % 16384
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_slots_match_redis() {
        // Values of `CLUSTER KEYSLOT` from the Redis documentation.
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{foo}mykey"), 12182);
        assert_ne!(key_slot(b"{}foo"), key_slot(b"foo"));
    }

    #[test]
    fn looks_are_rate_limited_and_exclusive() {
        let watch = MarkerWatch::new("p:", false);
        assert!(watch.due());
        let running = watch.start().expect("first look");
        assert!(watch.start().is_none());
        drop(running);
        assert!(!watch.due(), "a look just ran");
        watch.check_soon();
        assert!(watch.due());
    }
}
