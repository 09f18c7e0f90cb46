#!/usr/bin/env bash
# Attack: unsigned requests naming distinct random cert URLs
# (https://s3.amazonaws.com/echo.api/<random>.pem), against a release build,
# counting the cert downloads the endpoint makes. See BENCHMARKS.md
# ("Cert URL abuse"). Usage (from anywhere):
#
#   bash bench/attack/cert-urls.sh
#   REQUESTS=500 DELAY_MS=500 SKIP_BUILD=1 bash bench/attack/cert-urls.sh
#
# The endpoint runs with HTTPS_PROXY pointing at a counting proxy
# (bench/attack/cert-urls.py): each cert download attempt is one CONNECT
# there, held DELAY_MS (an S3 round trip) and then refused, so every
# download fails like an unreachable S3 (retried once by the endpoint).
# Two configurations, same run:
#   unbounded  cert_download_concurrency = 256, cert_failure_ttl_secs = 0
#              (no cap, nothing remembered: the behaviour before the limits)
#   defaults   cert_download_concurrency = 4,   cert_failure_ttl_secs = 60
#
# Environment:
#   REQUESTS    distinct URLs in the burst (default 200)
#   SERIAL      distinct URLs sent one after the other (default 20)
#   DELAY_MS    how long the proxy holds each download attempt (default 200)
#   BIN         endpoint binary (default target/release/alexa-endpoint)
#   SKIP_BUILD  1 = use the binary already built
#   WORK_DIR    configs and logs (default target/attack/cert-urls)
set -euo pipefail
cd "$(dirname "$0")/../.."

REQUESTS="${REQUESTS:-200}"
SERIAL="${SERIAL:-20}"
DELAY_MS="${DELAY_MS:-200}"
BIN="${BIN:-target/release/alexa-endpoint}"
WORK_DIR="${WORK_DIR:-target/attack/cert-urls}"

die() { printf 'cert-urls.sh: %s\n' "$*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
command -v python3 >/dev/null || die "python3 is required"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked >&2
fi
[ -x "$BIN" ] || die "$BIN missing; run without SKIP_BUILD=1"
mkdir -p "$WORK_DIR"

pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

run() { # name concurrency failure_ttl
  local name="$1" concurrency="$2" ttl="$3"
  local ep_port admin_port proxy_port cfg="$WORK_DIR/$1.toml" log="$WORK_DIR/$1.log"
  ep_port="$(free_port)"
  admin_port="$(free_port)"
  proxy_port="$(free_port)"
  cat >"$cfg" <<EOF
[server]
listen = "127.0.0.1:$ep_port"
admin_listen = "127.0.0.1:$admin_port"
[verification]
enabled = true
skill_ids = ["amzn1.ask.skill.00000000-0000-0000-0000-0000000attack"]
cert_download_concurrency = $concurrency
cert_failure_ttl_secs = $ttl
[log]
format = "json"
EOF
  RUST_LOG=warn HTTPS_PROXY="http://127.0.0.1:$proxy_port" NO_PROXY="" \
    "$BIN" serve --config "$cfg" 2>"$log" &
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ep_port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "endpoint exited; see $log"
    sleep 0.1
  done
  printf '\n=== %s: cert_download_concurrency = %s, cert_failure_ttl_secs = %s\n' "$name" "$concurrency" "$ttl"
  python3 bench/attack/cert-urls.py --endpoint-port "$ep_port" --proxy-port "$proxy_port" \
    --requests "$REQUESTS" --serial "$SERIAL" --delay-ms "$DELAY_MS"
  # The endpoint's own count, from the admin listener.
  curl -sf "http://127.0.0.1:$admin_port/metrics" 2>/dev/null \
    | grep -E '^alexa_endpoint_cert_downloads_total' | sed 's/^/metric  /' || true
  cleanup
  pid=""
}

run unbounded 256 0
run defaults 4 60
