#!/usr/bin/env bash
# Load benchmark: alexa-endpoint (full verification, memory dedup, `log` handler)
# against a bare axum server (JSON parse + ack), same load, same run.
# See BENCHMARKS.md. Usage (from anywhere):
#
#   bash bench/load.sh                      # 1, 16, 64 connections, 10 s each
#   DURATION=20 CONNS="16" bash bench/load.sh
#
# Environment:
#   DURATION    seconds per wrk run (default 10; at most 100: see the timestamp budget)
#   CONNS       connection counts (default "1 16 64")
#   BODIES      distinct pre-signed requests per run (default 10000)
#   REPEAT      rounds per connection count (default 3); each round runs the endpoint,
#               then bare-axum right after; the report takes medians
#   VERIFY      1 = full verification (default); 0 = verification.enabled = false,
#               only to develop the harness — its figures are not the benchmark
#   VARIANTS    endpoint runs per round, each NAME:BACKEND[:BINARY] (default "endpoint:memory");
#               BACKEND = memory | redis | redis+nats; e.g. VARIANTS="endpoint:memory endpoint-redis:redis"
#               runs the memory and the Redis dedup backend back to back on the same bodies.
#               redis+nats = Redis dedup and the `queue` handler publishing to JetStream (a
#               private nats-server with file storage, pinned to REDIS_CPU, a fresh stream per
#               run); give it BODIES >= the requests of a run, or most requests are duplicates
#               that publish nothing.
#               Redis runs use a private redis-server (no persistence) pinned to REDIS_CPU
#               (default: CLIENT_CPU, i.e. off the server's CPU, as a remote Redis would be) and
#               a fresh key prefix per run; BINARY (default: this checkout's release build)
#               compares another build in the same rounds
#   REDIS_NICE  nice value of the private redis-server / nats-server (default -10): they share
#               their CPU with wrk, and at equal priority they wait for wrk's time slices, which
#               a Redis on its own host never does (Redis at 64 connections: 0.63 x memory
#               at 0, 0.92 x at -10, BENCHMARKS.md); 0 = equal priority
#   SERVER_CPU  CPU the servers are pinned to (default 1); CLIENT_CPU for wrk (default 0)
#   EP_PORT, BARE_PORT  loopback ports (default: free ones picked at start)
#   BENCH_DIR   work directory (default target/bench): PKI, bodies, configs, logs, results
#   SKIP_BUILD  1 = use the binaries already built
#
# Every request is fully verified: signature over the raw body, cert chain (from
# the preloaded file, validated on use), timestamp, skill id. Each run signs fresh
# bodies (fresh timestamps, new requestIds); after the first BODIES requests of a
# run the requestIds repeat and the endpoint answers them as duplicates (200,
# handler not run again) — after verifying them like any other request.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

DURATION="${DURATION:-10}"
CONNS="${CONNS:-1 16 64}"
BODIES="${BODIES:-10000}"
REPEAT="${REPEAT:-3}"
VERIFY="${VERIFY:-1}"
SERVER_CPU="${SERVER_CPU:-1}"
CLIENT_CPU="${CLIENT_CPU:-0}"
REDIS_CPU="${REDIS_CPU:-$CLIENT_CPU}"
REDIS_NICE="${REDIS_NICE:--10}"
VARIANTS="${VARIANTS:-endpoint:memory}"
BENCH_DIR="${BENCH_DIR:-target/bench}"
# Free loopback ports, picked now unless given (other people's servers may hold fixed ones).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
EP_PORT="${EP_PORT:-$(free_port)}"
BARE_PORT="${BARE_PORT:-$(free_port)}"
TOLERANCE=150   # verification.timestamp_tolerance_secs
SKILL_ID="amzn1.ask.skill.00000000-0000-0000-0000-00000000bench"
CERT_URL="https://s3.amazonaws.com/echo.api/echo-api-cert-bench.pem"

say() { printf '\n=== %s\n' "$*" >&2; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }

[ "$DURATION" -le 100 ] || die "DURATION=$DURATION: at most 100 s, so signing + run stay inside the ${TOLERANCE} s timestamp tolerance"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"

# --- tools
say "tools"
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
for t in wrk taskset openssl python3 curl ss; do command -v "$t" >/dev/null || die "$t is required"; done
python3 -c 'import cryptography' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check cryptography \
  || die "python3 'cryptography' is required (pip install cryptography)"
[ "$(nproc)" -gt "$((SERVER_CPU > CLIENT_CPU ? SERVER_CPU : CLIENT_CPU))" ] || die "need CPUs $CLIENT_CPU and $SERVER_CPU"

# --- build
endpoint_bin="$root/target/release/alexa-endpoint"
bare_bin="$root/target/bench-bare-axum/release/bare-axum"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "build (release)"
  cargo build --release --locked
  cargo build --release --locked --manifest-path bench/bare-axum/Cargo.toml --target-dir target/bench-bare-axum
fi
[ -x "$endpoint_bin" ] && [ -x "$bare_bin" ] || die "binaries missing; run without SKIP_BUILD=1"

# --- PKI and config
say "test PKI and endpoint config"
rm -rf "$BENCH_DIR/pki"
bash bench/make-pki.sh "$BENCH_DIR/pki" >&2
write_config() { # write_config FILE BACKEND KEY_PREFIX
  local dedup='backend = "memory"' handler='kind = "log"'
  if [ "$2" = redis ] || [ "$2" = redis+nats ]; then
    dedup="backend = \"redis\"
redis_url = \"redis://127.0.0.1:$REDIS_PORT\"
key_prefix = \"$3\""
  fi
  if [ "$2" = redis+nats ]; then
    # A fresh stream per run, bound to its own subject.
    local stream subject
    stream="BENCH_$(tr -c 'A-Za-z0-9\n' '_' <<<"${3%:}")"
    subject="bench.$(tr -c 'A-Za-z0-9\n' '_' <<<"${3%:}")"
    python3 bench/nats_stream.py "127.0.0.1:$NATS_PORT" "$stream" "$subject" >/dev/null \
      || die "could not create JetStream stream $stream"
    handler="kind = \"queue\"

[handler.queue]
backend = \"nats\"
url = \"nats://127.0.0.1:$NATS_PORT\"
subject = \"$subject\""
  fi
  if [ "$VERIFY" = 1 ]; then
    cat > "$1" <<EOF
[server]
listen = "127.0.0.1:$EP_PORT"
admin_listen = "127.0.0.1:0"

[verification]
enabled = true
skill_ids = ["$SKILL_ID"]
timestamp_tolerance_secs = $TOLERANCE
extra_roots = "$BENCH_DIR/pki/root.pem"

[verification.preloaded_certs]
"$CERT_URL" = "$BENCH_DIR/pki/chain.pem"

[dedup]
$dedup

[handler]
$handler

[log]
format = "json"
EOF
  else
    cat > "$1" <<EOF
[server]
listen = "127.0.0.1:$EP_PORT"
admin_listen = "127.0.0.1:0"

[verification]
enabled = false

[dedup]
$dedup

[handler]
$handler

[log]
format = "json"
EOF
  fi
}
REDIS_PORT=""
redis_pid=""
if [[ " $VARIANTS" == *:redis* ]]; then  # redis and redis+nats
  command -v redis-server >/dev/null || die "redis-server is required for a redis variant"
  REDIS_PORT="$(free_port)"
  nice -n "$REDIS_NICE" taskset -c "$REDIS_CPU" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$BENCH_DIR" >"$BENCH_DIR/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
  [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || die "private redis-server did not start"
  echo "private redis-server on 127.0.0.1:$REDIS_PORT, pinned to CPU $REDIS_CPU, nice $REDIS_NICE" >&2
fi
NATS_PORT=""
nats_pid=""
if [[ " $VARIANTS" == *:redis+nats* ]]; then
  command -v nats-server >/dev/null || die "nats-server is required for a redis+nats variant"
  NATS_PORT="$(free_port)"
  rm -rf "$BENCH_DIR/nats"
  nice -n "$REDIS_NICE" taskset -c "$REDIS_CPU" nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$BENCH_DIR/nats" \
    >"$BENCH_DIR/nats.log" 2>&1 &
  nats_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null \
    || die "private nats-server did not start (see $BENCH_DIR/nats.log)"
  echo "private nats-server (JetStream, file storage) on 127.0.0.1:$NATS_PORT, pinned to CPU $REDIS_CPU, nice $REDIS_NICE" >&2
fi
config="$BENCH_DIR/endpoint.toml"
write_config "$config" memory ""
"$endpoint_bin" check-config --config "$config" > "$BENCH_DIR/endpoint.effective.toml"

sign() { # sign TAG COUNT OUT
  python3 bench/sign_bodies.py --key "$BENCH_DIR/pki/leaf-key.pem" --cert-url "$CERT_URL" \
    --skill-id "$SKILL_ID" --count "$2" --run "$1" "$3"
}

# --- servers
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "${redis_pid:-}" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  if [ -n "${nats_pid:-}" ]; then kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

start() { # start endpoint|bare [BINARY CONFIG]
  local log="$BENCH_DIR/$1.log" port
  if [ "$1" = endpoint ]; then
    port=$EP_PORT
    RUST_LOG=warn taskset -c "$SERVER_CPU" "${2:-$endpoint_bin}" serve --config "${3:-$config}" >"$log" 2>&1 &
  else
    port=$BARE_PORT
    taskset -c "$SERVER_CPU" "$bare_bin" "127.0.0.1:$BARE_PORT" >"$log" 2>&1 &
  fi
  pid=$!
  # Ready when *this* process listens on the port (not some other server that holds it).
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$1 exited at start-up"; }
    if ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"; then return 0; fi
    sleep 0.1
  done
  cat "$log" >&2
  die "$1 (pid $pid) did not listen on 127.0.0.1:$port"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
proc_status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }

post() { # post FILE LINE [tamper] -> HTTP status
  local line url sig body
  line="$(sed -n "${2}p" "$1")"
  url="$(cut -f1 <<<"$line")"; sig="$(cut -f2 <<<"$line")"; body="$(cut -f3- <<<"$line")"
  case "${3:-}" in
    sig) sig="$(sed -n "$(( $2 % 2 + 1 ))p" "$1" | cut -f2)" ;;        # another body's signature
    body) body="${body/message blob/message blub}" ;;                     # one byte changed
  esac
  curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -H "SignatureCertChainUrl: $url" -H "Signature-256: $sig" \
    --data-binary "$body" "http://127.0.0.1:$EP_PORT/"
}

# Verification must be real: a good request passes, a wrong signature and a
# changed body are refused. Stops the benchmark when this build does not verify.
sanity() {
  local f="$BENCH_DIR/sanity.tsv" good badsig badbody
  sign "sanity-$RANDOM" 2 "$f"
  badsig="$(post "$f" 1 sig)"; badbody="$(post "$f" 2 body)"; good="$(post "$f" 1)"
  echo "sanity: good=$good wrong-signature=$badsig changed-body=$badbody" >&2
  [ "$good" = 200 ] || die "a correctly signed request answered $good (see $BENCH_DIR/endpoint.log)"
  if [ "$VERIFY" = 1 ] && { [ "$badsig" != 400 ] || [ "$badbody" != 400 ]; }; then
    die "verification is not in force in this build (a bad signature answered $badsig, a changed body $badbody); merge the verification work, or VERIFY=0 to test the harness"
  fi
}

# CPU seconds (user + system) a process has used so far.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

run_wrk() { # run_wrk NAME PORT CONNS BODIES_FILE ROUND -> RESULT line + CPU shares
  local out="$BENCH_DIR/wrk-$1-c$3-r$5.txt" s0 s1 t0 t1 wpid
  s0="$(cpu_secs "$pid")"; t0="$(date +%s.%N)"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$3" -d"${DURATION}s" --timeout 5s --latency \
    -s bench/bodies.lua "http://127.0.0.1:$2/" -- "$4" >"$out" 2>&1 &
  wpid=$!
  local wcpu=0
  while kill -0 "$wpid" 2>/dev/null; do   # wrk's own CPU time, sampled until it exits
    wcpu="$(cpu_secs "$wpid" 2>/dev/null || echo "$wcpu")"
    sleep 0.2
  done
  wait "$wpid" || { cat "$out" >&2; die "wrk failed"; }
  s1="$(cpu_secs "$pid")"; t1="$(date +%s.%N)"
  # How busy the server and wrk were on their CPUs: in a clean run one of them is
  # near 100 %; both well below means something else was running on those CPUs.
  printf '%s server_cpu=%.0f wrk_cpu=%.0f\n' "$(grep '^RESULT ' "$out" || { cat "$out" >&2; die "no RESULT line from wrk"; })" \
    "$(awk -v a="$s0" -v b="$s1" -v t="$t0" -v u="$t1" 'BEGIN { print 100 * (b - a) / (u - t) }')" \
    "$(awk -v w="$wcpu" -v d="$DURATION" 'BEGIN { print 100 * w / d }')"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# --- machine
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
say "machine: $(nproc) CPUs, $cpu_model, $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
if awk '{ exit !($1 > 1.0) }' /proc/loadavg; then
  echo "NOTE: load average $(cut -d' ' -f1 /proc/loadavg) > 1 before the start: other work shares these CPUs; expect noisy figures (see the CPU columns)" >&2
fi
echo "servers on CPU $SERVER_CPU, wrk (-t1) on CPU $CLIENT_CPU; ${DURATION} s per run, $REPEAT round(s); $BODIES bodies per run; verification: $([ "$VERIFY" = 1 ] && echo ON || echo OFF)" >&2

results="$BENCH_DIR/results.tsv"
printf 'server\tconns\trep\trps\tp50_ms\tp99_ms\tpeak_rss_mib\tnon2xx\tsocket_errors\tserver_cpu\twrk_cpu\n' > "$results"
record() { # record SERVER CONNS ROUND RESULT-LINE RSS-KIB
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(field rps "$4")" "$(field p50_ms "$4")" \
    "$(field p99_ms "$4")" "$(awk -v k="$5" 'BEGIN { print k / 1024 }')" "$(field non2xx "$4")" \
    "$(field socket_errors "$4")" "$(field server_cpu "$4")" "$(field wrk_cpu "$4")" >> "$results"
}
for c in $CONNS; do
  for rep in $(seq 1 "$REPEAT"); do
    # Fresh bodies (new requestIds, timestamp = now) for each endpoint run; the
    # bare-axum run right after it gets the same file.
    bodies="$BENCH_DIR/bodies-c$c.tsv"
    say "$c connections, round $rep/$REPEAT: signing $BODIES fresh bodies"
    signed_at=$(date +%s)
    sign "$$-c$c-r$rep" "$BODIES" "$bodies"

    for variant in $VARIANTS; do
      IFS=: read -r name backend bin <<<"$variant"
      bin="${bin:-$endpoint_bin}"
      [ -x "$bin" ] || die "variant $name: $bin is not an executable"
      vconfig="$BENCH_DIR/endpoint-$name.toml"
      write_config "$vconfig" "$backend" "alexa-endpoint-bench:$$:$name:c$c:r$rep:"
      start endpoint "$bin" "$vconfig"
      threads="$(proc_status Threads)"
      sanity
      line="$(run_wrk "$name" "$EP_PORT" "$c" "$bodies" "$rep")"
      rss_kib="$(proc_status VmHWM)"
      stop
      age=$(( $(date +%s) - signed_at ))
      [ "$age" -le "$TOLERANCE" ] || echo "WARNING: the last requests were $age s old (> $TOLERANCE s): some were refused as stale" >&2
      echo "$name  c=$c r=$rep  $line  VmHWM=${rss_kib}kB threads=$threads" >&2
      record "$name" "$c" "$rep" "$line" "$rss_kib"
    done

    start bare
    line="$(run_wrk bare-axum "$BARE_PORT" "$c" "$bodies" "$rep")"
    rss_kib="$(proc_status VmHWM)"
    stop
    echo "bare-axum c=$c r=$rep  $line  VmHWM=${rss_kib}kB" >&2
    record bare-axum "$c" "$rep" "$line" "$rss_kib"
  done
done

# --- report
say "results (verification $([ "$VERIFY" = 1 ] && echo ON || echo OFF); load average now $(cut -d' ' -f1-3 /proc/loadavg))"
python3 bench/report.py "$results" | tee "$BENCH_DIR/results.md"
bad=$(awk -F'\t' 'NR > 1 && ($8 > 0 || $9 > 0)' "$results" | wc -l)
[ "$bad" -eq 0 ] || echo "WARNING: $bad run(s) had non-2xx answers or socket errors: see $BENCH_DIR/wrk-*.txt and the server logs" >&2
echo "raw: $results, wrk output: $BENCH_DIR/wrk-*.txt" >&2
