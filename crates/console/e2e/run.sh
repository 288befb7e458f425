#!/usr/bin/env bash
# Runs the console's end-to-end tests against a fresh `statecraft server`.
#
#   crates/console/e2e/run.sh [path/to/statecraft]   (default: target/debug/statecraft)
#
# Installs what it needs when missing (Debian's chromium, playwright-core from
# the npm lockfile), starts the server on a free port with a throw-away data
# directory, runs console.e2e.mjs and stops the server. Screenshots of the
# main pages land in $SCREENSHOTS (default crates/console/e2e/screenshots).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
bin="${1:-$root/target/debug/statecraft}"

if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
data="$(mktemp -d)"
# A command under a flow limit, for the queues view (console.e2e.mjs).
cat >"$data/e2e.toml" <<'TOML'
[integrations.commands]
enabled = true

[integrations.commands.programs.e2e-hold]
program = "/bin/sleep"
args = ["30"]

[limits.integrations."arn:statecraft:command:e2e-hold"]
max_concurrent = 1
TOML
"$bin" server --listen "127.0.0.1:$port" --data-dir "$data" --config "$data/e2e.toml" >"$data/server.log" 2>&1 &
server=$!
auth_server=""
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -n "$auth_server" ]; then
    kill "$auth_server" 2>/dev/null || true
    wait "$auth_server" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
if ! curl -fsS "http://127.0.0.1:$port/" | grep -q '/console/app.js'; then
  echo "the server at port $port does not serve the console (is statecraft_console::router() merged?)" >&2
  cat "$data/server.log" >&2
  exit 1
fi

STATECRAFT_URL="http://127.0.0.1:$port" node "$here/console.e2e.mjs"

# A second server with credentials, for the sign-in tests (signin.e2e.mjs).
auth_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$data/auth.toml" <<'TOML'
[[auth.credentials]]
access_key_id = "AKIDADMIN"
secret_access_key = "admin-secret"
role = "admin"

[[auth.credentials]]
access_key_id = "AKIDOPERATOR"
secret_access_key = "operator-secret"
role = "operator"
TOML
"$bin" server --listen "127.0.0.1:$auth_port" --data-dir "$data/auth" --config "$data/auth.toml" >"$data/auth-server.log" 2>&1 &
auth_server=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$auth_port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
STATECRAFT_AUTH_URL="http://127.0.0.1:$auth_port" node "$here/signin.e2e.mjs"
