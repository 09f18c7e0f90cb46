#!/usr/bin/env bash
# Make sure a Redis answers at ${REDIS_URL:-redis://127.0.0.1:6379}: install
# redis-server with apt-get when missing, start it without persistence, and
# wait (bounded) until it answers PING. Idempotent; silent when Redis is up.
#
#   scripts/ensure-redis.sh            # used by .ci/run before the tests
#   REDIS_WAIT_SECS=30 scripts/ensure-redis.sh
set -euo pipefail

url="${REDIS_URL:-redis://127.0.0.1:6379}"
wait_secs="${REDIS_WAIT_SECS:-15}"
# For messages: the URL without any user:password.
shown="$(printf '%s' "$url" | sed -E 's#//[^@/]*@#//#')"

ping() {
    command -v redis-cli >/dev/null 2>&1 &&
        [ "$(redis-cli -u "$url" ping 2>/dev/null)" = "PONG" ]
}

ping && exit 0

# Only a local instance without credentials is ours to start (on the URL's
# port, default 6379); anything else is the caller's to provide.
if [[ "$url" =~ ^redis://(127\.0\.0\.1|localhost)(:([0-9]+))?(/[0-9]*)?$ ]]; then
    port="${BASH_REMATCH[3]:-6379}"
else
    echo "ensure-redis: Redis at $shown does not answer PING, and it is not a local instance this script may start" >&2
    exit 1
fi

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "ensure-redis: installing redis-server with apt-get" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq redis-server >/dev/null 2>&1 || {
        $sudo apt-get update -qq >/dev/null
        $sudo apt-get install -y -qq redis-server >/dev/null
    }
fi

echo "ensure-redis: starting redis-server on 127.0.0.1:$port" >&2
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null

deadline=$((SECONDS + wait_secs))
until ping; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "ensure-redis: redis-server did not answer PING within ${wait_secs}s" >&2
        exit 1
    fi
    sleep 0.1
done
echo "ensure-redis: Redis is up at $shown" >&2
