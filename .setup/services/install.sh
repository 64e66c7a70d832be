#!/usr/bin/env bash
# Installs the system packages tests and benchmarks need (idempotent: only what is missing).
# Usage: .setup/services/install.sh [test|bench]
set -euo pipefail
mode="${1:-test}"
packages=(clickhouse-server clickhouse-client tzdata nats-server redis-server chromium pebble curl procps)
if [ "$mode" = "bench" ]; then packages+=(wrk nginx nghttp2-client); fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's ClickHouse package may start a system server; tests run their own copies on free ports.
if command -v service >/dev/null 2>&1; then service clickhouse-server stop >/dev/null 2>&1 || true; fi
