#!/usr/bin/env bash
# Fallback for machines where LocalStack cannot run on the host (it needs
# Python >= 3.13): moto's server from PyPI on the same address, with the same
# init hook creating the same buckets and queues. Used by `make
# test-localstack` only when start-host.sh reports that no suitable Python
# exists (exit status 3); it says so loudly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
state="$root/.localstack"
venv="${MOTO_VENV:-$state/moto-venv}"
addr="${LOCALSTACK_ADDR:-127.0.0.1:4566}"
mkdir -p "$state"
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-moto.txt"
fi
(
  cd "$state"
  nohup "$venv/bin/moto_server" -H "${addr%:*}" -p "${addr##*:}" >"$state/moto.log" 2>&1 &
  echo $! >"$state/pid"
)
for _ in $(seq 1 60); do
  curl -s -o /dev/null "http://$addr/" && break
  sleep 1
done
AWS_ENDPOINT_URL="http://$addr" AWS_REGION="${AWS_REGION:-us-east-1}" \
AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
MOTCUA_RESOURCES="$root/infra/provision/resources.json" \
  "$venv/bin/python" "$here/ready.d/10_motcua_resources.py"
echo "start-moto: WARNING: LocalStack could not run here; moto server $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))') stands in on http://$addr (pid $(cat "$state/pid"))"
