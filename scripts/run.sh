#!/usr/bin/env bash
# The main job from a fresh machine: the Rollbook window. Installs what is missing,
# builds the UI and the app, and opens it; choose "Try the demo district" to sign in
# to the embedded demo district (no ClassLink account needed) in your system browser.
#
#   scripts/run.sh          the window (without a display: the command-line walk-through)
#   scripts/run.sh cli      the command-line walk-through: starts the standalone demo
#                           district on 127.0.0.1:47600, signs you in, shows your classes,
#                           a roster and a gradebook, and signs out
#   scripts/run.sh ARGS…    `rollbook ARGS…` (starting the demo district for --demo)
#
# Without a desktop browser, set ROLLBOOK_BROWSER to a command that opens URLs; for a
# hands-off run: ROLLBOOK_BROWSER=target/debug/rollbook-test-browser scripts/run.sh cli
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

if [ $# -eq 0 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  npm --prefix ui run --silent build
  cargo build -q --locked -p rollbook-desktop --features custom-protocol -p rollbook-fake-op
  exec target/debug/rollbook-desktop
fi
if [ $# -eq 0 ]; then
  echo "run: no display here, so this is the command-line walk-through (scripts/run.sh cli)."
fi
[ "${1:-}" = "cli" ] && shift
cargo build -q --locked -p rollbook-cli -p rollbook-demo -p rollbook-fake-op
rollbook=target/debug/rollbook
demo_url=${ROLLBOOK_DEMO_URL:-http://127.0.0.1:47600}
export ROLLBOOK_DEMO_URL=$demo_url

sandbox_pid=""
start_sandbox() {
  if curl -fsS "$demo_url/.well-known/openid-configuration" >/dev/null 2>&1; then return; fi
  target/debug/rollbook-sandbox --port "${demo_url##*:}" --size school >/dev/null &
  sandbox_pid=$!
  trap '[ -n "$sandbox_pid" ] && kill $sandbox_pid 2>/dev/null' EXIT
  for _ in $(seq 50); do
    curl -fsS "$demo_url/.well-known/openid-configuration" >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "run: the demo district did not start at $demo_url" >&2
  exit 1
}

if [ $# -gt 0 ]; then
  case " $* " in *" --demo "*) start_sandbox ;; esac
  "$rollbook" "$@"
  exit $?
fi

start_sandbox
echo "Demo district at $demo_url: NOT a real school; every person is made up."
"$rollbook" login --demo
echo
echo "== Your classes this term"
"$rollbook" classes
class=$("$rollbook" classes --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].sourcedId))')
echo
echo "== Roster of $class"
"$rollbook" roster "$class"
echo
echo "== Gradebook of $class"
"$rollbook" gradebook "$class"
echo
"$rollbook" logout
