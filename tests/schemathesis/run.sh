#!/usr/bin/env bash
# Fuzz the whole API document with schemathesis (all checks) against the
# running local stack: it starts `go run ./cmd/motcua-local` on free ports
# with a fresh data folder, waits for the gateway, mints a staff token with
# the stack's dev key (`motcua token mint`), runs schemathesis with the
# repository's schemathesis.toml, stops the stack and exits with
# schemathesis's status (0 = no failure).
#
# Generic over all paths: every operation of api/openapi.yaml is fuzzed, so
# a function added to the document is covered with no change here.
#
#   bash tests/schemathesis/run.sh            # ~2 000 requests
#   SCHEMATHESIS_MAX_EXAMPLES=20 bash tests/schemathesis/run.sh   # quicker
#
# schemathesis comes from PyPI, pinned, into .schemathesis/venv (created on
# first use); set SCHEMATHESIS to use another executable.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
version=4.32.5

st=${SCHEMATHESIS:-}
if [ -z "$st" ]; then
  venv="$root/.schemathesis/venv"
  if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
    echo "schemathesis: installing schemathesis==$version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
  fi
  st="$venv/bin/st"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
gw_port=${MOTCUA_SCHEMATHESIS_GATEWAY_PORT:-$(free_port)}
edge_port=${MOTCUA_SCHEMATHESIS_EDGE_PORT:-$(free_port)}
work=$(mktemp -d "${TMPDIR:-/tmp}/motcua-schemathesis.XXXXXX")
log="$work/stack.log"
report="$root/.schemathesis/report"
mkdir -p "$report"

stack_pid=""
cleanup() {
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM -- "-$stack_pid" 2>/dev/null || kill -TERM "$stack_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$stack_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "schemathesis: building and starting the local stack (gateway :$gw_port, edge :$edge_port)"
go build -o "$work/motcua-local" ./cmd/motcua-local
go build -o "$work/motcua" ./cmd/motcua
# Its own process group, so cleanup stops the functions it started too.
setsid "$work/motcua-local" -gateway-addr "127.0.0.1:$gw_port" -edge-addr "127.0.0.1:$edge_port" \
  -data "$work/data" >"$log" 2>&1 &
stack_pid=$!

base="http://127.0.0.1:$gw_port"
for i in $(seq 1 600); do
  if curl -sf "$base/healthz" >/dev/null 2>&1 && grep -q '"local stack ready"' "$log"; then break; fi
  if ! kill -0 "$stack_pid" 2>/dev/null; then echo "schemathesis: the local stack exited:"; tail -40 "$log"; exit 1; fi
  if [ "$i" = 600 ]; then echo "schemathesis: the local stack is not ready after 300 s:"; tail -40 "$log"; exit 1; fi
  sleep 0.5
done

MOTCUA_STAFF_TOKEN=$("$work/motcua" token mint --sub schemathesis --agency UBND-X-VIETHUNG --roles staff --ttl 2h --data-dir "$work/data" 2>/dev/null)
export MOTCUA_STAFF_TOKEN

args=(run api/openapi.yaml --url "$base" --report junit --report-dir "$report")
if [ -n "${SCHEMATHESIS_MAX_EXAMPLES:-}" ]; then args+=(--max-examples "$SCHEMATHESIS_MAX_EXAMPLES"); fi
echo "schemathesis: $st ${args[*]}"
set +e
"$st" "${args[@]}" "$@"
rc=$?
set -e
if [ $rc != 0 ]; then echo "schemathesis: failures (exit $rc); stack log tail:"; tail -20 "$log"; fi
exit $rc
