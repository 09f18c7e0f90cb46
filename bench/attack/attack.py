#!/usr/bin/env python3
"""Listener attacks against a running alexa-endpoint binary; prints figures.

Usage (from the repo root, after `cargo build --release`):

    python3 bench/attack/attack.py [trickle|slowloris|fdcap|all]

Each scenario starts its own server (verification off, memory dedup, `log`
handler) on free loopback ports with the config it needs, attacks it, and
prints one `figure:` line per measurement. Standard library only.

- trickle:   8 connections each declare Content-Length 131072 and send the body
             one byte per segment; RSS before / peak / after (goal: growth
             <= 16 MiB), and every connection answered 408.
- slowloris: 5,000 connections (idle, slow head, slow body) held open while
             real requests are sent; when each attacker got closed, and how
             the real requests fared (goal: all attackers closed within their
             timeouts, real requests answered).
- fdcap:     the server under `ulimit -n 1024`, 1,100 silent sockets; the
             process stays up, logs the cap, and answers real requests again
             within header_read_timeout_ms.
"""

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("BIN", os.path.join(ROOT, "target", "release", "alexa-endpoint"))
SEED = open(os.path.join(ROOT, "samples", "message-received.json"), "rb").read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, n), hard), hard))


class Server:
    def __init__(self, extra="", ulimit=None):
        self.port, self.admin = free_port(), free_port()
        self.dir = tempfile.mkdtemp(prefix="attack-")
        cfg = os.path.join(self.dir, "config.toml")
        with open(cfg, "w") as f:
            f.write(
                f'[server]\nlisten = "127.0.0.1:{self.port}"\n'
                f'admin_listen = "127.0.0.1:{self.admin}"\n{extra}\n'
                "[verification]\nenabled = false\n[log]\nformat = \"json\"\n"
            )
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        cmd = [BIN, "serve", "--config", cfg]
        if ulimit:
            cmd = ["bash", "-c", f'ulimit -n {ulimit} && exec "$@"', "sh"] + cmd
        env = dict(os.environ, RUST_LOG="warn,alexa_endpoint::server=info")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.admin), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("server did not start")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def logs(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def figure(name, value, note=""):
    print(f"figure: {name} = {value}{'  # ' + note if note else ''}", flush=True)


async def real_request(port, timeout=5.0):
    """One POST of the seed payload on a new connection: (status, seconds)."""
    started = time.monotonic()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        w.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(SEED)}\r\n\r\n".encode()
            + SEED
        )
        await w.drain()
        line = await asyncio.wait_for(r.readline(), timeout)
        w.close()
        status = int(line.split()[1]) if line else 0
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        status = 0
    return status, time.monotonic() - started


async def closed_after(reader, started):
    """Seconds until the server closes the connection (reads and drops data)."""
    try:
        while await reader.read(4096):
            pass
    except OSError:
        pass
    return time.monotonic() - started


async def trickle():
    print("== trickle: 8 bodies, Content-Length 131072, one byte per segment")
    srv = Server("body_read_timeout_ms = 60000")
    try:
        before = srv.rss_kib()
        peak = before
        answers = []

        async def one():
            r, w = await asyncio.open_connection("127.0.0.1", srv.port)
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 131072\r\n\r\n")
            sent = 0
            while sent < 40_000:
                w.write(b" ")
                try:
                    await w.drain()
                except OSError:
                    break
                sent += 1
                await asyncio.sleep(0.0005)
            return r, w, sent

        tasks = [asyncio.create_task(one()) for _ in range(8)]
        while not all(t.done() for t in tasks):
            peak = max(peak, srv.rss_kib())
            await asyncio.sleep(0.2)
        conns = [t.result() for t in tasks]
        peak = max(peak, srv.rss_kib())
        for r, w, sent in conns:
            w.close()
        await asyncio.sleep(1)
        after = srv.rss_kib()
        figure("trickle_bytes_sent_per_connection", min(s for _, _, s in conns))
        figure("trickle_rss_before_mib", round(before / 1024, 1))
        figure("trickle_rss_peak_mib", round(peak / 1024, 1))
        figure("trickle_rss_growth_mib", round((peak - before) / 1024, 1), "goal <= 16")
        figure("trickle_rss_after_close_mib", round(after / 1024, 1))
        # The body timeout: one more trickled body with the default 10 s.
    finally:
        srv.stop()
    srv = Server("body_read_timeout_ms = 2000")
    try:
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 131072\r\n\r\n")
        started = time.monotonic()

        async def drip():
            try:
                while True:
                    w.write(b" ")
                    await w.drain()
                    await asyncio.sleep(0.01)
            except OSError:
                pass

        dripping = asyncio.create_task(drip())
        head = await asyncio.wait_for(r.readline(), 30)
        dripping.cancel()
        figure("trickle_answer", head.decode().strip(), "body_read_timeout_ms = 2000")
        figure("trickle_answer_after_s", round(time.monotonic() - started, 2))
    finally:
        srv.stop()


async def slowloris(n=5000):
    print(f"== slowloris: {n} idle / slow-head / slow-body connections + real requests")
    raise_nofile(n + 1000)
    srv = Server("max_connections = 8192")
    try:
        started = time.monotonic()
        closes = {"idle": [], "slow_head": [], "slow_body": []}

        async def attacker(kind):
            try:
                r, w = await asyncio.open_connection("127.0.0.1", srv.port)
            except OSError:
                return
            t0 = time.monotonic()
            watcher = asyncio.create_task(closed_after(r, t0))
            try:
                if kind == "slow_head":
                    w.write(b"POST / HTTP/1.1\r\n")
                    while not watcher.done():
                        w.write(b"X-a: b\r\n")
                        await w.drain()
                        await asyncio.wait([watcher], timeout=2)
                elif kind == "slow_body":
                    w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
                    while not watcher.done():
                        w.write(b" ")
                        await w.drain()
                        await asyncio.wait([watcher], timeout=1)
            except OSError:
                pass
            closes[kind].append(await watcher)
            w.close()

        kinds = ["idle", "slow_head", "slow_body"]
        attackers = [asyncio.create_task(attacker(kinds[i % 3])) for i in range(n)]
        real = []
        while not all(a.done() for a in attackers) and time.monotonic() - started < 300:
            real.append(await real_request(srv.port))
            await asyncio.sleep(0.1)
        for kind, xs in closes.items():
            if xs:
                figure(f"slowloris_{kind}_closed", len(xs))
                figure(f"slowloris_{kind}_max_open_s", round(max(xs), 1))
        ok = sum(1 for s, _ in real if s == 200)
        figure("slowloris_real_requests", len(real))
        figure("slowloris_real_requests_200", ok)
        figure("slowloris_real_request_max_s", round(max(t for _, t in real), 3) if real else "-")
        figure("slowloris_server_alive", srv.alive())
    finally:
        srv.stop()


async def fdcap(n=1100):
    print(f"== fdcap: ulimit -n 1024, {n} silent sockets")
    raise_nofile(n + 200)
    srv = Server("header_read_timeout_ms = 10000", ulimit=1024)
    try:
        socks = []
        t0 = time.monotonic()
        for _ in range(n):
            try:
                socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=2))
            except OSError:
                pass
        figure("fdcap_sockets_opened", len(socks))
        figure("fdcap_opening_took_s", round(time.monotonic() - t0, 2))
        status, _ = await real_request(srv.port, timeout=2)
        figure("fdcap_real_request_while_saturated", status)
        while time.monotonic() - t0 < 60:
            status, _ = await real_request(srv.port, timeout=2)
            if status == 200:
                break
            await asyncio.sleep(0.1)
        figure(
            "fdcap_served_again_after_s",
            round(time.monotonic() - t0, 2),
            "from the first silent socket; goal <= 10 (header_read_timeout_ms) + opening time",
        )
        figure("fdcap_server_alive", srv.alive())
        logs = srv.logs()
        figure("fdcap_logged_lowered_cap", "does not fit the file-descriptor limit" in logs)
        figure("fdcap_logged_cap_reached", "connection limit reached" in logs)
        for s in socks:
            s.close()
    finally:
        srv.stop()


def main():
    if not os.path.exists(BIN):
        raise SystemExit(f"{BIN} missing: cargo build --release (or BIN=...)")
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    for name, fn in [("trickle", trickle), ("slowloris", slowloris), ("fdcap", fdcap)]:
        if which in (name, "all"):
            asyncio.run(fn())


if __name__ == "__main__":
    main()
