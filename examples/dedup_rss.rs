//! Resident memory of the memory dedup store, for `bench/dedup-rss.sh`.
//!
//! Sends `entries` messages through a store (owner token, claim, finish with
//! a one-day TTL, as the endpoint does) and prints the process's resident
//! memory; for the current store also after the TTL has passed and the
//! background purge has run (tokio's paused clock: no waiting).
//!
//! ```text
//! cargo run --release --example dedup_rss -- <store> <entries> [max_entries]
//! store: none (same work, a store that remembers nothing: the baseline)
//!        memory (the current store) | previous-memory (the store before it)
//! ```
//!
//! Prints one line of `key=value` pairs. Uses mimalloc, like the binary.

use std::time::Duration;

use alexa_endpoint::dedup::{new_owner_token, Claim, DedupStore, MemoryStore, NoDedup, StoreError};

#[path = "../benches/baseline/previous_memory_store.rs"]
mod previous_store;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CLAIM_TTL: Duration = Duration::from_secs(12);
const DONE_TTL: Duration = Duration::from_secs(86_400);

/// `VmRSS` and `VmHWM` of this process, KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn fill(store: &dyn DedupStore, entries: u64) -> Result<(), StoreError> {
    for n in 0..entries {
        // The shape of a real id: amzn1.echo-api.request.<uuid>.
        let id = format!(
            "amzn1.echo-api.request.{:08x}-{:04x}-4{:03x}-8000-{:012x}",
            n as u32,
            (n >> 32) as u16,
            n & 0xfff,
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16
        );
        let owner = new_owner_token();
        let claim = store.claim(&id, &owner, CLAIM_TTL).await?;
        if claim != Claim::New && store.name() != "off" {
            eprintln!("unexpected {claim:?} for {id}");
        }
        store.finish(&id, &owner, DONE_TTL).await?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "memory".to_owned());
    let entries: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let max_entries: u64 = args.next().map_or(Ok(entries), |a| a.parse())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()?;
    rt.block_on(async {
        let (before, _) = rss_kib();
        let mut line = format!("store={kind} entries={entries} max_entries={max_entries}");
        match kind.as_str() {
            "none" => fill(&NoDedup, entries).await?,
            "memory" => {
                let store = MemoryStore::new(max_entries);
                fill(&store, entries).await?;
                let (rss, hwm) = rss_kib();
                line += &format!(" held={} rss_kib={rss} hwm_kib={hwm}", store.entry_count());
                tokio::time::advance(DONE_TTL + Duration::from_secs(1)).await;
                // About two purge passes.
                for _ in 0..20 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let (after, _) = rss_kib();
                line += &format!(
                    " held_after_ttl={} rss_after_ttl_kib={after}",
                    store.entry_count()
                );
            }
            "previous-memory" => {
                let store = previous_store::MemoryStore::new(max_entries);
                fill(&store, entries).await?;
                let (rss, hwm) = rss_kib();
                line += &format!(" held={} rss_kib={rss} hwm_kib={hwm}", store.entry_count());
            }
            other => return Err(format!("unknown store {other:?}").into()),
        }
        if kind == "none" {
            let (rss, hwm) = rss_kib();
            line += &format!(" held=0 rss_kib={rss} hwm_kib={hwm}");
        }
        println!("{line} rss_at_start_kib={before}");
        Ok(())
    })
}
