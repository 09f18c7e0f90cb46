#!/usr/bin/env python3
"""Caller-chosen cert URLs against a running endpoint, counting its downloads.

Run by bench/attack/cert-urls.sh, which starts the endpoint with
HTTPS_PROXY pointing at the counting proxy this script serves: every cert
download attempt of the endpoint is one CONNECT to s3.amazonaws.com:443
here. The proxy holds each CONNECT for --delay-ms (an S3 round trip) and
then refuses it, so every download fails like an unreachable S3 would
(the endpoint retries such a failure once: two attempts per download).

Rounds (each request is unsigned: a base64 signature that signs nothing,
so nothing but the cert URL costs the endpoint anything):
  burst    N requests at once, N distinct random cert URLs
  repeat   the same N URLs again, at once
  serial   M new distinct URLs, one request after the other

Prints one line per round: requests, answers by status/reason, CONNECTs
(download attempts) made during the round, and the wall time.
"""

import argparse
import asyncio
import collections
import json
import secrets
import time

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-0000000attack"


class CountingProxy:
    """An HTTP proxy that counts CONNECTs and refuses them after a delay."""

    def __init__(self, delay):
        self.delay = delay
        self.connects = 0
        self.open = 0
        self.max_open = 0

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"CONNECT "):
                self.connects += 1
                self.open += 1
                self.max_open = max(self.max_open, self.open)
                try:
                    await asyncio.sleep(self.delay)
                finally:
                    self.open -= 1
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def body(request_id):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({
        "version": "1.0",
        "context": {"System": {"application": {"applicationId": SKILL_ID}}},
        "request": {
            "type": "Messaging.MessageReceived",
            "requestId": request_id,
            "timestamp": now,
            "message": {"x": 1},
        },
    }).encode()


async def post(host, port, cert_url):
    data = body("amzn1.echo-api.request.attack-" + secrets.token_hex(8))
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nSignatureCertChainUrl: {cert_url}\r\n"
        f"Signature-256: {'c2lnbmF0dXJl' * 22}\r\nconnection: close\r\n\r\n"
    ).encode()
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head + data)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    elapsed = time.monotonic() - started
    status = raw.split(b" ", 2)[1].decode() if raw.startswith(b"HTTP/") else "no-answer"
    reason = ""
    _, _, payload = raw.partition(b"\r\n\r\n")
    try:
        reason = json.loads(payload).get("error", "")
    except ValueError:
        pass
    return f"{status} {reason}".strip(), elapsed


def random_url():
    return f"https://s3.amazonaws.com/echo.api/{secrets.token_hex(12)}.pem"


async def round_(name, proxy, host, port, urls, concurrency):
    before = proxy.connects
    sem = asyncio.Semaphore(concurrency)

    async def one(url):
        async with sem:
            return await post(host, port, url)

    started = time.monotonic()
    results = await asyncio.gather(*(one(u) for u in urls))
    wall = time.monotonic() - started
    answers = collections.Counter(r for r, _ in results)
    slowest = max(e for _, e in results)
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
    print(
        f"{name:7s} requests={len(urls)} concurrency={concurrency} "
        f"download_attempts={proxy.connects - before} answers=[{shown}] "
        f"wall={wall:.2f}s slowest={slowest * 1000:.0f}ms",
        flush=True,
    )


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-port", type=int, required=True)
    ap.add_argument("--proxy-port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--serial", type=int, default=20)
    ap.add_argument("--delay-ms", type=int, default=200)
    args = ap.parse_args()

    proxy = CountingProxy(args.delay_ms / 1000)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.proxy_port, backlog=1024)
    host, port = "127.0.0.1", args.endpoint_port
    burst = [random_url() for _ in range(args.requests)]
    await round_("burst", proxy, host, port, burst, args.requests)
    await round_("repeat", proxy, host, port, burst, args.requests)
    serial = [random_url() for _ in range(args.serial)]
    await round_("serial", proxy, host, port, serial, 1)
    print(f"total   download_attempts={proxy.connects} max_concurrent_attempts={proxy.max_open}", flush=True)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
