#!/usr/bin/env bash
# Make sure a Redis answers at $REDIS_URL (default redis://127.0.0.1:6379):
# install redis-server with apt-get when missing, start it, wait for PING.
set -euo pipefail
url="${REDIS_URL:-redis://127.0.0.1:6379}"
ping() { redis-cli -u "$url" ping 2>/dev/null | grep -q PONG; }
if command -v redis-cli >/dev/null && ping; then exit 0; fi
if ! command -v redis-server >/dev/null; then
  echo "installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
echo "starting redis-server"
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
for _ in $(seq 1 100); do
  if ping; then exit 0; fi
  sleep 0.1
done
echo "redis did not answer PING at $url" >&2
exit 1
