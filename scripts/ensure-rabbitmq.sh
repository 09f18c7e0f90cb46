#!/usr/bin/env bash
# Make sure RabbitMQ answers AMQP on 127.0.0.1:${RABBITMQ_PORT:-5672}
# (guest/guest): install rabbitmq-server with apt-get when missing, start it, and
# wait (bounded) until the port speaks AMQP. Idempotent; silent when it is up.
#
#   scripts/ensure-rabbitmq.sh        # used by .ci/run before the tests
set -euo pipefail

port="${RABBITMQ_PORT:-5672}"
wait_secs="${RABBITMQ_WAIT_SECS:-90}"

# An AMQP 0-9-1 server answers the protocol header with a Connection.Start frame
# (frame type 1, channel 0).
amqp_up() {
    local reply
    reply="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'AMQP\x00\x00\x09\x01' >&3 && head -c 3 <&3 | od -An -tx1" 2>/dev/null)" || return 1
    [ "$(echo $reply)" = "01 00 00" ]
}

amqp_up && exit 0

if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "ensure-rabbitmq: installing rabbitmq-server with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq rabbitmq-server >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null
        apt-get install -y -qq rabbitmq-server >/dev/null
    }
fi

echo "ensure-rabbitmq: starting rabbitmq-server" >&2
if command -v service >/dev/null 2>&1 && service rabbitmq-server start >/dev/null 2>&1; then
    :
else
    rabbitmq-server -detached >/dev/null 2>&1 || true
fi

deadline=$((SECONDS + wait_secs))
until amqp_up; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "ensure-rabbitmq: RabbitMQ did not answer AMQP on 127.0.0.1:$port within ${wait_secs}s" >&2
        exit 1
    fi
    sleep 0.5
done
echo "ensure-rabbitmq: RabbitMQ is up on 127.0.0.1:$port" >&2
