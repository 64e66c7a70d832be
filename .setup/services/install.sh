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
# Debian's ClickHouse package may start a system server (as the clickhouse user); tests run their own copies on
# free ports. Only that one is stopped: the init script's stop matches the executable and would kill every copy,
# including a test run's that is going on at the same time.
if command -v pkill >/dev/null 2>&1 && id clickhouse >/dev/null 2>&1; then
  pkill -u clickhouse -f /usr/sbin/clickhouse-server >/dev/null 2>&1 || true
fi
