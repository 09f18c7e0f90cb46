#!/usr/bin/env bash
# Resident memory per entry of the memory dedup store, against a baseline
# process of the same run that does the same work with a store that
# remembers nothing (examples/dedup_rss.rs; mimalloc, like the binary).
#
#   bash bench/dedup-rss.sh                 # 1,000,000 ids, bound 1,000,000
#   ENTRIES=500000 MAX_ENTRIES=500000 bash bench/dedup-rss.sh
#
# Prints one line per process and, per store, (RSS − baseline RSS) / entries
# held. The current store is also measured after the TTL passed and the
# background purge ran (memory returned).
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${ENTRIES:-1000000}
max=${MAX_ENTRIES:-$entries}
cargo build --quiet --release --example dedup_rss
bin=target/release/examples/dedup_rss

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

base=$("$bin" none "$entries" "$max")
echo "$base"
base_rss=$(field "$base" rss_kib)
for store in previous-memory memory; do
  line=$("$bin" "$store" "$entries" "$max")
  echo "$line"
  held=$(field "$line" held)
  rss=$(field "$line" rss_kib)
  awk -v s="$store" -v r="$rss" -v b="$base_rss" -v h="$held" 'BEGIN {
    printf "%s: %d entries held, RSS %.1f MiB (baseline %.1f MiB): %.1f bytes per entry\n",
      s, h, r / 1024, b / 1024, (r - b) * 1024 / h }'
  after=$(field "$line" rss_after_ttl_kib)
  if [ -n "$after" ]; then
    awk -v s="$store" -v a="$after" -v b="$base_rss" -v h="$(field "$line" held_after_ttl)" 'BEGIN {
      printf "%s: after the TTL and the background purge: %d entries, RSS %.1f MiB (%.1f MiB above the baseline)\n",
        s, h, a / 1024, (a - b) / 1024 }'
  fi
done
