#!/usr/bin/env bash
# Stops the LocalStack started by start-host.sh.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
pidf="$root/.localstack/pid"
[ -f "$pidf" ] || exit 0
pid=$(cat "$pidf")
kill "$pid" 2>/dev/null || true
for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
kill -9 "$pid" 2>/dev/null || true
rm -f "$pidf"
