#!/usr/bin/env bash
# Check the Prometheus files in deploy/observability/ with promtool:
#   promtool check config  prometheus.yaml   (the scrape config and, through it, rules.yaml)
#   promtool check rules   rules.yaml
#   promtool test rules    rules.test.yaml   (each alert fires on a synthetic series, silent on a healthy one)
# The dashboard's and the rules' metric names are checked against a running
# server by the Rust test `cargo test --test it observability_assets`.
#
# promtool comes from PATH, or else from Debian's `prometheus` package: only the
# promtool binary is extracted from the .deb (apt-get download + dpkg -x, no
# root needed, no service, no web assets) into .ci/tools/, and reused from
# there next time. Override with PROMTOOL=/path/to/promtool.
#
#   bash scripts/check-observability.sh
set -euo pipefail
cd "$(dirname "$0")/.."

dir=deploy/observability
cache=.ci/tools

find_promtool() {
  if [ -n "${PROMTOOL:-}" ]; then printf '%s\n' "$PROMTOOL"; return 0; fi
  if command -v promtool >/dev/null; then command -v promtool; return 0; fi
  if [ -x "$cache/promtool" ]; then printf '%s\n' "$cache/promtool"; return 0; fi
  return 1
}

install_promtool() {
  command -v apt-get >/dev/null || { echo "no promtool and no apt-get to fetch Debian's prometheus package" >&2; return 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # apt-get download works from the package lists as they are; refresh them
  # once if the package is unknown or its version is gone from the mirror.
  if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
    (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) || {
      echo "apt-get download prometheus failed" >&2; return 1; }
  fi
  dpkg -x "$tmp"/prometheus_*.deb "$tmp/x"
  mkdir -p "$cache"
  install -m 0755 "$tmp/x/usr/bin/promtool" "$cache/promtool"
  echo "installed $("$cache/promtool" --version 2>&1 | head -n1) into $cache/promtool"
}

promtool="$(find_promtool)" || { install_promtool; promtool="$(find_promtool)"; }
echo "using $promtool: $("$promtool" --version 2>&1 | head -n1)"

"$promtool" check config "$dir/prometheus.yaml"
"$promtool" check rules "$dir/rules.yaml"
# promtool resolves rule_files relative to the test file.
"$promtool" test rules "$dir/rules.test.yaml"
python3 -m json.tool "$dir/dashboard.json" >/dev/null
echo "check-observability: ok"
