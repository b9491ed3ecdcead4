#!/usr/bin/env bash
# Starts LocalStack on this host without Docker (LocalStack's runtime from
# PyPI), waits until S3 and SQS are ready and runs the init hook in ready.d.
#
#   bash localstack/start-host.sh      # prints the endpoint; pid in .localstack/pid
#   bash localstack/stop-host.sh
#
# LocalStack 4.14 needs Python >= 3.13. The script takes python3.13 (or newer)
# from PATH or pyenv; the exact dependency set is pinned in
# requirements-host.txt (several of LocalStack's loose dependencies break it in
# their newest releases: cbor2 6, pyOpenSSL 25+, cryptography 45+).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
state="$root/.localstack"
venv="${LOCALSTACK_VENV:-$state/venv}"
addr="${LOCALSTACK_ADDR:-127.0.0.1:4566}"
mkdir -p "$state"

find_python() {
  for c in python3.14 python3.13; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3,13))' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3; do
    if [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import localstack' 2>/dev/null; then
  py=$(find_python) || { echo "start-host: no Python >= 3.13 found (LocalStack 4.14 needs it)" >&2; exit 3; }
  echo "start-host: creating $venv with $py"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-host.txt"
fi

if curl -sf "http://$addr/_localstack/health" >/dev/null 2>&1; then
  echo "start-host: something already answers on $addr; refusing to start a second LocalStack" >&2
  exit 4
fi

rm -rf "$state/volume"
(
  cd "$state"
  GATEWAY_LISTEN="$addr" SERVICES="${LOCALSTACK_SERVICES:-s3,sqs,kms}" PERSISTENCE=0 SKIP_SSL_CERT_DOWNLOAD=1 \
  DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR="$state/volume" \
    nohup "$venv/bin/python" -m localstack.runtime.main >"$state/localstack.log" 2>&1 &
  echo $! >"$state/pid"
)
for _ in $(seq 1 120); do
  if curl -sf "http://$addr/_localstack/health" | grep -q '"sqs": "\(available\|running\)"'; then
    break
  fi
  if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "start-host: LocalStack exited; last log lines:" >&2; tail -30 "$state/localstack.log" >&2; exit 5
  fi
  sleep 1
done
curl -sf "http://$addr/_localstack/health" >/dev/null || { echo "start-host: LocalStack not healthy after 120 s" >&2; tail -30 "$state/localstack.log" >&2; exit 6; }
# MOTCUA_LOCALSTACK_NO_INIT=1: an empty LocalStack (the production-path leg
# creates everything from infra/cloudformation/motcua.json instead).
if [ "${MOTCUA_LOCALSTACK_NO_INIT:-}" != 1 ]; then
AWS_ENDPOINT_URL="http://$addr" AWS_REGION="${AWS_REGION:-us-east-1}" \
AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
MOTCUA_RESOURCES="$root/infra/provision/resources.json" \
  "$venv/bin/python" "$here/ready.d/10_motcua_resources.py"
fi
echo "start-host: LocalStack $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))') ready on http://$addr (pid $(cat "$state/pid"))"
