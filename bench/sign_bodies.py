#!/usr/bin/env python3
"""Pre-sign N distinct Messaging.MessageReceived bodies for bench/load.sh.

Each body gets its own requestId and a timestamp of "now" (Alexa's tolerance is
150 s, so sign right before a run). Signature-256 = base64(RSA PKCS#1 v1.5 over
SHA-256 of the exact body bytes), as Alexa sends it.

Output: one request per line, tab-separated: cert URL, Signature-256, body
(compact JSON, no tabs or newlines). bench/bodies.lua reads this file.

    sign_bodies.py --key leaf-key.pem --cert-url URL --skill-id ID --count N --run TAG OUT
"""
import argparse
import base64
import datetime
import json
import sys

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
except ImportError:
    sys.exit("sign_bodies.py needs the 'cryptography' package: python3 -m pip install cryptography")


def body(i: int, run: str, skill_id: str, timestamp: str) -> bytes:
    envelope = {
        "version": "1.0",
        "context": {
            "System": {
                "application": {"applicationId": skill_id},
                "user": {"userId": f"amzn1.ask.account.bench-user-{i % 100}"},
                "apiEndpoint": "https://api.amazonalexa.com",
                "apiAccessToken": "bench.token.not-a-secret",
            }
        },
        "request": {
            "type": "Messaging.MessageReceived",
            "requestId": f"amzn1.echo-api.request.bench-{run}-{i:06d}",
            "timestamp": timestamp,
            "message": {"sometag": "message blob", "seq": i},
        },
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert-url", required=True)
    ap.add_argument("--skill-id", required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--run", default="0", help="tag that makes requestIds distinct across runs")
    ap.add_argument("out")
    a = ap.parse_args()

    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc)
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(a.out, "w") as out:
        for i in range(a.count):
            b = body(i, a.run, a.skill_id, timestamp)
            sig = base64.b64encode(key.sign(b, padding.PKCS1v15(), hashes.SHA256())).decode()
            out.write(f"{a.cert_url}\t{sig}\t{b.decode()}\n")


if __name__ == "__main__":
    main()
