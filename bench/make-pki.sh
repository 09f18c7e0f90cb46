#!/usr/bin/env bash
# A throw-away test PKI shaped like Alexa's, made with the openssl CLI:
#   root.pem          self-signed root CA   → verification.extra_roots
#   intermediate.pem  CA signed by the root
#   leaf.pem          RSA-2048, SAN DNS:echo-api.amazon.com, signed by the intermediate
#   leaf-key.pem      the key that signs request bodies
#   chain.pem         leaf then intermediate → verification.preloaded_certs
# Usage: bench/make-pki.sh DIR
set -euo pipefail
dir="${1:?usage: make-pki.sh DIR}"
mkdir -p "$dir"
cd "$dir"
cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:echo-api.amazon.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
q() { "$@" >/dev/null 2>&1 || { echo "make-pki: failed: $*" >&2; "$@"; exit 1; }; }
q openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
  -subj "/CN=alexa-endpoint bench root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout root-key.pem -out root.pem
q openssl req -new -newkey rsa:2048 -nodes -subj "/CN=alexa-endpoint bench intermediate CA" \
  -keyout intermediate-key.pem -out intermediate.csr
q openssl x509 -req -sha256 -days 30 -in intermediate.csr -CA root.pem -CAkey root-key.pem \
  -set_serial "0x$(openssl rand -hex 8)" -extfile ext.cnf -extensions ca -out intermediate.pem
q openssl req -new -newkey rsa:2048 -nodes -subj "/CN=echo-api.amazon.com" \
  -keyout leaf-key.pem -out leaf.csr
q openssl x509 -req -sha256 -days 7 -in leaf.csr -CA intermediate.pem -CAkey intermediate-key.pem \
  -set_serial "0x$(openssl rand -hex 8)" -extfile ext.cnf -extensions leaf -out leaf.pem
cat leaf.pem intermediate.pem > chain.pem
q openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem
rm -f ./*.csr ext.cnf
echo "test PKI in $dir"
