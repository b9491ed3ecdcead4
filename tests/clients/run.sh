#!/usr/bin/env bash
# Starts the embedded local stack on spare ports and checks it with boto3 (the
# Python SDK behind the AWS CLI), the AWS SDK for JavaScript v3 and the AWS CLI
# packaged by Debian (apt-get install awscli). Needs python3 with boto3: uses
# the venv made by localstack/start-host.sh or start-moto.sh when present,
# else makes one. Under CI=true a missing node/npm or Debian awscli fails the
# run; elsewhere that check is skipped with a message.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
py=""
for v in .localstack/venv .localstack/moto-venv .localstack/clients-venv; do
  if [ -x "$v/bin/python" ] && "$v/bin/python" -c 'import boto3' 2>/dev/null; then py="$v/bin/python"; break; fi
done
if [ -z "$py" ]; then
  python3 -m venv .localstack/clients-venv
  .localstack/clients-venv/bin/pip install -q --disable-pip-version-check boto3
  py=.localstack/clients-venv/bin/python
fi
# The stack's ports; move them when 4599/8099 are taken, with
# MOTCUA_CLIENTS_EDGE_PORT / MOTCUA_CLIENTS_GATEWAY_PORT (or whole addresses
# with MOTCUA_CLIENTS_EDGE_ADDR / MOTCUA_CLIENTS_GATEWAY_ADDR).
edge=${MOTCUA_CLIENTS_EDGE_ADDR:-127.0.0.1:${MOTCUA_CLIENTS_EDGE_PORT:-4599}}
gw=${MOTCUA_CLIENTS_GATEWAY_ADDR:-127.0.0.1:${MOTCUA_CLIENTS_GATEWAY_PORT:-8099}}
data=$(mktemp -d)
go build -o "$data/motcua-local" ./cmd/motcua-local
"$data/motcua-local" -edge-addr "$edge" -gateway-addr "$gw" -data "$data/data" -build "$data/build" >"$data/out.log" 2>"$data/err.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://$gw/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { tail -20 "$data/err.log"; exit 1; }
  sleep 1
done
echo "== boto3 (default settings; region from AWS_DEFAULT_REGION)"
AWS_ENDPOINT_URL="http://$edge" AWS_DEFAULT_REGION=us-east-1 "$py" tests/clients/boto3_check.py
echo "== Open311 GeoReport v2 (PyPI georeport client + requests) against /function/feedback/open311/v2"
"$py" -c 'import georeport' 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check 'georeport==0.3.1'
MOTCUA_GATEWAY="http://$gw" "$py" tests/clients/open311_check.py
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  echo "== AWS SDK for JavaScript v3"
  (cd tests/clients && npm ci --no-audit --no-fund --silent >/dev/null)
  AWS_ENDPOINT_URL="http://$edge" node tests/clients/js_check.mjs
else
  [ "${CI:-}" = true ] && { echo "FAIL: CI needs node and npm for the JS SDK check"; exit 1; }
  echo "== AWS SDK for JavaScript v3: skipped (no node/npm on this machine)"
fi
if [ -x /usr/bin/aws ] && /usr/bin/aws --version 2>&1 | grep -q 'aws-cli/'; then
  echo "== AWS CLI from Debian (/usr/bin/aws)"
  AWS_ENDPOINT_URL="http://$edge" bash tests/clients/awscli_check.sh
else
  [ "${CI:-}" = true ] && { echo "FAIL: CI needs Debian's awscli (apt-get install -y awscli)"; exit 1; }
  echo "== AWS CLI: skipped (Debian's awscli is not installed: apt-get install -y awscli)"
fi
