#!/usr/bin/env bash
# CPU time per request (utime + stime of the server process / requests answered)
# for the endpoint and bare-axum under the same wrk load: a figure that other
# work on a shared machine disturbs far less than req/s. Reuses the PKI, config
# and binaries that `bench/load.sh` left in target/ (run that first).
#
#   bash bench/cpu-per-request.sh               # 16 connections, 10 s each
#   CONNS=64 DURATION=20 bash bench/cpu-per-request.sh
#   EP=path/to/other/alexa-endpoint BARE=0 bash bench/cpu-per-request.sh   # A/B a build
set -euo pipefail
cd "$(dirname "$0")/.."
B="${BENCH_DIR:-target/bench}"
CONNS="${CONNS:-16}"
DURATION="${DURATION:-10}"
EP="${EP:-target/release/alexa-endpoint}"
BARE_BIN="target/bench-bare-axum/release/bare-axum"
[ -f "$B/endpoint.toml" ] && [ -f "$B/pki/leaf-key.pem" ] || { echo "run bench/load.sh first" >&2; exit 1; }
python3 bench/sign_bodies.py --key "$B/pki/leaf-key.pem" \
  --cert-url https://s3.amazonaws.com/echo.api/echo-api-cert-bench.pem \
  --skill-id amzn1.ask.skill.00000000-0000-0000-0000-00000000bench \
  --count 10000 --run "cpu-$$" "$B/cpu.tsv"
tick=$(getconf CLK_TCK)
measure() { # NAME PORT CMD...
  local name=$1 port=$2 pid t0 t1 rss line n
  shift 2
  RUST_LOG=warn taskset -c 1 "$@" >"$B/cpu-$name.log" 2>&1 &
  pid=$!
  # Ready when this process listens on the port (not another server holding it).
  for _ in $(seq 100); do ss -Hltnp "sport = :$port" | grep -q "pid=$pid," && break; sleep 0.1; done
  ss -Hltnp "sport = :$port" | grep -q "pid=$pid," || { cat "$B/cpu-$name.log" >&2; echo "$name did not listen on $port" >&2; exit 1; }
  t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  taskset -c 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency -s bench/bodies.lua \
    "http://127.0.0.1:$port/" -- "$B/cpu.tsv" >"$B/cpu-wrk-$name.txt" 2>&1
  t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  line=$(grep '^RESULT' "$B/cpu-wrk-$name.txt")
  n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  echo "$name c=$CONNS: $line VmHWM=${rss}kB cpu_us_per_request=$(awk -v a="$t0" -v b="$t1" -v t="$tick" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')"
}
# load.sh picks free ports: the endpoint's is in its config; bare-axum gets a free one.
ep_port=$(sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$B/endpoint.toml")
bare_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
measure endpoint "$ep_port" "$EP" serve --config "$B/endpoint.toml"
if [ "${BARE:-1}" = 1 ]; then measure bare-axum "$bare_port" "$BARE_BIN" "127.0.0.1:$bare_port"; fi
