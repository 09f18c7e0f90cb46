#!/usr/bin/env bash
# Make sure NATS with JetStream answers on 127.0.0.1:${NATS_PORT:-4222}: install
# nats-server with apt-get when missing, start it with JetStream (store in a temp
# dir), and wait (bounded) until its INFO says JetStream is on. Idempotent;
# silent when NATS is up.
#
#   scripts/ensure-nats.sh            # used by .ci/run before the tests
set -euo pipefail

port="${NATS_PORT:-4222}"
wait_secs="${NATS_WAIT_SECS:-15}"

# The server greets every connection with `INFO {...}`; JetStream adds "jetstream":true.
jetstream_up() {
    local info
    info="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -1 <&3" 2>/dev/null)" || return 1
    [[ "$info" == INFO* && "$info" == *'"jetstream":true'* ]]
}

jetstream_up && exit 0

if ! command -v nats-server >/dev/null 2>&1; then
    echo "ensure-nats: installing nats-server with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq nats-server >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null
        apt-get install -y -qq nats-server >/dev/null
    }
fi

store="$(mktemp -d /tmp/ensure-nats.XXXXXX)"
echo "ensure-nats: starting nats-server -js on 127.0.0.1:$port (store $store)" >&2
setsid nats-server -js -a 127.0.0.1 -p "$port" -sd "$store" >"$store/nats-server.log" 2>&1 < /dev/null &

deadline=$((SECONDS + wait_secs))
until jetstream_up; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "ensure-nats: NATS JetStream did not come up within ${wait_secs}s" >&2
        cat "$store/nats-server.log" >&2 || true
        exit 1
    fi
    sleep 0.1
done
echo "ensure-nats: NATS JetStream is up on 127.0.0.1:$port" >&2
