#!/usr/bin/env python3
"""Create a JetStream stream over the plain NATS protocol (no client library).

    python3 bench/nats_stream.py HOST:PORT NAME SUBJECT   # file storage, limits retention

Prints the server's JSON answer; exits non-zero if it carries an error. Used by
bench/load.sh for the `redis+nats` variant (queue handler -> JetStream)."""
import json
import socket
import sys


def main() -> int:
    hostport, name, subject = sys.argv[1:4]
    host, port = hostport.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    f.readline()  # INFO {...}
    inbox = "_INBOX.bench.stream"
    body = json.dumps({"name": name, "subjects": [subject], "storage": "file",
                       "retention": "limits", "duplicate_window": 120_000_000_000}).encode()
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'
              + f"SUB {inbox} 1\r\n".encode()
              + f"PUB $JS.API.STREAM.CREATE.{name} {inbox} {len(body)}\r\n".encode() + body + b"\r\n")
    while True:
        line = f.readline()
        if not line:
            print("connection closed before an answer", file=sys.stderr)
            return 1
        if line.startswith(b"PING"):
            s.sendall(b"PONG\r\n")
        elif line.startswith(b"-ERR"):
            print(line.decode().strip(), file=sys.stderr)
            return 1
        elif line.startswith(b"MSG"):
            size = int(line.split()[-1])
            answer = json.loads(f.read(size + 2)[:size])
            print(json.dumps(answer))
            return 1 if "error" in answer else 0


if __name__ == "__main__":
    sys.exit(main())
