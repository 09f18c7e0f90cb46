//! The Redis dedup store in Cluster mode, against three private
//! `redis-server --cluster-enabled yes` processes joined with
//! `redis-cli --cluster create`: claims, duplicates and TTLs behave as on a
//! single node, also for keys served by different nodes; each primary has its
//! own data-loss marker.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alexa_endpoint::config::{DedupConfig, RedisTarget};
use alexa_endpoint::dedup::{from_config, new_owner_token, Claim};
use redis::AsyncCommands;

use crate::dedup_store::{
    claim_expires, concurrent_claims, done_mark_expires, id, lifecycle, lifecycle_of,
    release_after_failure, LONG,
};
use crate::support::redis::{
    key_prefix, raw_connection, redis_config, redis_part, secret_url, RedisCluster,
};
use crate::support::wait::{eventually, holds_for, wait_for};

fn cluster_config(cluster: &RedisCluster) -> DedupConfig {
    let mut cfg = redis_config("redis://unused.invalid:1", 2000);
    redis_part(&mut cfg).target =
        RedisTarget::Cluster(cluster.urls().iter().map(|u| secret_url(u)).collect());
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dedup_redis_cluster_behaves_like_one_node() {
    let Some(cluster) = RedisCluster::start().await else {
        return;
    };
    let cfg = cluster_config(&cluster);
    let store = from_config(&cfg).unwrap();
    store.ping().await.unwrap();
    lifecycle(&*store).await;
    release_after_failure(&*store).await;
    // Keys are read through a cluster connection: it asks the right node.
    let mut raw = redis::cluster::ClusterClient::new(cluster.urls())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    claim_expires(&*store, &mut raw, &key_prefix(&cfg)).await;
    done_mark_expires(&*store, &mut raw, &key_prefix(&cfg)).await;
    concurrent_claims(std::slice::from_ref(&store)).await;
    // Two replicas, two cluster connections.
    concurrent_claims(&[store.clone(), from_config(&cfg).unwrap()]).await;
}

/// Ids whose keys land on each of the three nodes: each works, lives on
/// its own node with the claim TTL, then the done TTL.
#[tokio::test]
async fn dedup_redis_cluster_keys_on_every_node() {
    let Some(cluster) = RedisCluster::start().await else {
        return;
    };
    let cfg = cluster_config(&cluster);
    let store = from_config(&cfg).unwrap();

    // Two ids per node.
    let mut by_node = std::collections::BTreeMap::<u16, Vec<String>>::new();
    while by_node.len() < 3 || by_node.values().any(|ids| ids.len() < 2) {
        let id = id();
        let node = cluster.node_of(&format!("{}{id}", key_prefix(&cfg))).await;
        let ids = by_node.entry(node).or_default();
        if ids.len() < 2 {
            ids.push(id);
        }
    }
    for (port, ids) in &by_node {
        lifecycle_of(&*store, &ids[0]).await;

        let owner = new_owner_token();
        let fresh = &ids[1];
        let key = format!("{}{fresh}", key_prefix(&cfg));
        assert_eq!(
            store
                .claim(fresh, &owner, Duration::from_secs(10))
                .await
                .unwrap(),
            Claim::New
        );
        assert_eq!(cluster.node_of(&key).await, *port);
        let mut raw = raw_connection(&format!("redis://127.0.0.1:{port}")).await;
        let value: Option<String> = raw.get(&key).await.unwrap();
        assert_eq!(value.as_deref(), Some(owner.as_str()));
        let pttl: i64 = raw.pttl(&key).await.unwrap();
        assert!((1..=10_000).contains(&pttl), "claim PTTL {pttl}");
        store
            .finish(fresh, &owner, Duration::from_secs(3600))
            .await
            .unwrap();
        let pttl: i64 = raw.pttl(&key).await.unwrap();
        assert!((3_590_000..=3_600_000).contains(&pttl), "done PTTL {pttl}");
        assert_eq!(
            store.claim(fresh, &new_owner_token(), LONG).await.unwrap(),
            Claim::Done
        );
    }
    let ports: BTreeSet<u16> = by_node.keys().copied().collect();
    assert_eq!(ports.len(), 3, "{by_node:?}");
}

/// Keys of the store's primaries that look like markers.
async fn markers_on(port: u16, prefix: &str) -> Vec<String> {
    let mut raw = raw_connection(&format!("redis://127.0.0.1:{port}")).await;
    raw.keys(format!("{prefix}marker*")).await.unwrap()
}

/// One marker per primary; a primary that loses its data is noticed,
/// counted once, and gets its marker back.
#[tokio::test]
async fn dedup_redis_cluster_node_flush_is_detected() {
    let Some(cluster) = RedisCluster::start().await else {
        return;
    };
    let cfg = cluster_config(&cluster);
    let store = from_config(&cfg).unwrap();
    let resets = Arc::new(AtomicU64::new(0));
    store.observe_resets({
        let resets = resets.clone();
        Arc::new(move || {
            resets.fetch_add(1, Ordering::SeqCst);
        })
    });
    // The first look writes the markers.
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.port()).collect();
    wait_for(
        "a marker on every node",
        Duration::from_secs(10),
        async || {
            store.ping().await.unwrap();
            let mut markers = Vec::new();
            for port in &ports {
                markers.push((*port, markers_on(*port, &key_prefix(&cfg)).await.len()));
            }
            if markers.iter().all(|&(_, n)| n == 1) {
                Ok(())
            } else {
                Err(format!("(port, markers) {markers:?}"))
            }
        },
    )
    .await;
    assert_eq!(resets.load(Ordering::SeqCst), 0, "a first write is no loss");

    let mut raw = raw_connection(&format!("redis://127.0.0.1:{}", ports[1])).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut raw).await.unwrap();
    assert!(markers_on(ports[1], &key_prefix(&cfg)).await.is_empty());

    eventually("the flush noticed", Duration::from_secs(10), async || {
        if resets.load(Ordering::SeqCst) > 0 {
            return true;
        }
        store.ping().await.unwrap();
        false
    })
    .await;
    assert_eq!(markers_on(ports[1], &key_prefix(&cfg)).await.len(), 1);
    assert_eq!(resets.load(Ordering::SeqCst), 1);
    // Later looks find the marker again: still one.
    holds_for(
        "the flush counted once",
        Duration::from_millis(2500),
        async || {
            store.ping().await.unwrap();
            match resets.load(Ordering::SeqCst) {
                1 => Ok(()),
                n => Err(format!("counted {n} times")),
            }
        },
    )
    .await;
}
