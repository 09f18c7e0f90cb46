#!/usr/bin/env bash
# Overload benchmark: the endpoint (full verification, distinct signed bodies,
# memory dedup, `log` handler) at a normal and an overload connection count in
# the same round, back to back, with the same bodies. See BENCHMARKS.md.
#
#   bash bench/overload.sh                          # 64 vs 1024 connections, 3 rounds of 10 s
#   SKIP_BUILD=1 REPEAT=5 bash bench/overload.sh
#
# Environment:
#   LOW, HIGH     connection counts (default 64, 1024)
#   DURATION      seconds per wrk run (default 10); REPEAT rounds (default 3)
#   BODIES        distinct pre-signed requests per round (default 10000)
#   SERVER_CPU / CLIENT_CPU   pinning (default 1 / 0)
#   SERVER_TOML   extra lines for the endpoint's [server] table (e.g. "max_in_flight = 64")
#   BENCH_DIR     work directory (default target/bench-overload); SKIP_BUILD=1 reuses target/release
#
# Per round: sign fresh bodies; start a fresh endpoint, check that verification
# is in force, run wrk at LOW; start a fresh endpoint, run wrk at HIGH with the
# same bodies. Reported per round and as medians: 2xx req/s at each count, the
# ratio HIGH/LOW of 2xx req/s, p99 of all answers at HIGH, answers by status
# (2xx / 503 / other) and client timeouts and socket errors.
# Goals (issue "safe on the open internet"): ratio >= 0.8, p99 <= 150 ms, every
# non-2xx a 503, no timeouts.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

LOW="${LOW:-64}"
HIGH="${HIGH:-1024}"
DURATION="${DURATION:-10}"
REPEAT="${REPEAT:-3}"
BODIES="${BODIES:-10000}"
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
SERVER_TOML="${SERVER_TOML:-}"
BENCH_DIR="${BENCH_DIR:-target/bench-overload}"
TOLERANCE=150
SKILL_ID="amzn1.ask.skill.00000000-0000-0000-0000-00000000bench"
CERT_URL="https://s3.amazonaws.com/echo.api/echo-api-cert-bench.pem"

die() { printf 'overload.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '\n=== %s\n' "$*" >&2; }
[ "$DURATION" -le 60 ] || die "DURATION at most 60 s (two runs per signing must fit the ${TOLERANCE} s tolerance)"
for t in wrk taskset openssl python3 curl ss; do command -v "$t" >/dev/null || die "$t is required (see bench/load.sh)"; done
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
# wrk needs a descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt "$((HIGH + 64))" ] || die "ulimit -n $(ulimit -n) is too small for $HIGH connections"

bin="$root/target/release/alexa-endpoint"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "build (release)"
  cargo build --release --locked
fi
[ -x "$bin" ] || die "$bin missing; run without SKIP_BUILD=1"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
rm -rf "$BENCH_DIR/pki"
bash bench/make-pki.sh "$BENCH_DIR/pki" >&2
config="$BENCH_DIR/endpoint.toml"
cat > "$config" <<TOML
[server]
listen = "127.0.0.1:$port"
admin_listen = "127.0.0.1:0"
$SERVER_TOML

[verification]
enabled = true
skill_ids = ["$SKILL_ID"]
timestamp_tolerance_secs = $TOLERANCE
extra_roots = "$BENCH_DIR/pki/root.pem"

[verification.preloaded_certs]
"$CERT_URL" = "$BENCH_DIR/pki/chain.pem"

[dedup]
backend = "memory"

[handler]
kind = "log"

[log]
format = "json"
TOML
"$bin" check-config --config "$config" > "$BENCH_DIR/endpoint.effective.toml"

sign() { python3 bench/sign_bodies.py --key "$BENCH_DIR/pki/leaf-key.pem" --cert-url "$CERT_URL" \
  --skill-id "$SKILL_ID" --count "$2" --run "$1" "$3"; }

pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
start() {
  RUST_LOG=warn taskset -c "$SERVER_CPU" "$bin" serve --config "$config" >>"$BENCH_DIR/endpoint.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { tail "$BENCH_DIR/endpoint.log" >&2; die "endpoint exited at start-up"; }
    if ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"; then return 0; fi
    sleep 0.1
  done
  die "endpoint did not listen on 127.0.0.1:$port"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# A good request answers 200; another body's signature answers 400.
sanity() {
  local f="$BENCH_DIR/sanity.tsv" good bad
  sign "sanity-$RANDOM" 2 "$f"
  post() { # post LINE SIG-LINE
    local l s
    l="$(sed -n "${1}p" "$f")"; s="$(sed -n "${2}p" "$f" | cut -f2)"
    curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
      -H "SignatureCertChainUrl: $(cut -f1 <<<"$l")" -H "Signature-256: $s" \
      --data-binary "$(cut -f3- <<<"$l")" "http://127.0.0.1:$port/"
  }
  good="$(post 1 1)"; bad="$(post 1 2)"
  [ "$good" = 200 ] && [ "$bad" = 400 ] || die "verification check failed: good=$good wrong-signature=$bad"
}

cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
results="$BENCH_DIR/results.tsv"
printf 'round\tconns\tok_rps\tp50_ms\tp99_ms\tmax_ms\tok2xx\ts503\tother\ttimeouts\tsocket_errors\tserver_cpu\tloadavg\n' > "$results"
run() { # run CONNS ROUND BODIES
  local out="$BENCH_DIR/wrk-c$1-r$2.txt" s0 s1 t0 t1 line
  s0="$(cpu_secs "$pid")"; t0="$(date +%s.%N)"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$1" -d"${DURATION}s" --timeout 5s --latency \
    -s bench/overload.lua "http://127.0.0.1:$port/" -- "$3" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
  s1="$(cpu_secs "$pid")"; t1="$(date +%s.%N)"
  line="$(grep '^OVERLOAD ' "$out")" || { cat "$out" >&2; die "no OVERLOAD line from wrk"; }
  f() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\n' "$2" "$1" "$(f ok_rps)" "$(f p50_ms)" "$(f p99_ms)" \
    "$(f max_ms)" "$(f ok2xx)" "$(f s503)" "$(f other)" "$(f timeouts)" \
    "$(( $(f connect_errors) + $(f read_errors) + $(f write_errors) ))" \
    "$(awk -v a="$s0" -v b="$s1" -v t="$t0" -v u="$t1" 'BEGIN { print 100 * (b - a) / (u - t) }')" \
    "$(cut -d' ' -f1 /proc/loadavg)" >> "$results"
  echo "c=$1 r=$2 $line" >&2
}

say "$(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); endpoint on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; $LOW vs $HIGH connections, ${DURATION} s, $REPEAT round(s)"
for rep in $(seq 1 "$REPEAT"); do
  bodies="$BENCH_DIR/bodies.tsv"
  say "round $rep/$REPEAT: signing $BODIES bodies"
  signed_at=$(date +%s)
  sign "$$-r$rep" "$BODIES" "$bodies"
  start; sanity; run "$LOW" "$rep" "$bodies"; stop
  start; run "$HIGH" "$rep" "$bodies"; stop
  age=$(( $(date +%s) - signed_at ))
  [ "$age" -le "$TOLERANCE" ] || echo "WARNING: the last requests were $age s old (> $TOLERANCE s)" >&2
done

say "results (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
python3 bench/overload_report.py "$results" "$LOW" "$HIGH" | tee "$BENCH_DIR/results.md"
