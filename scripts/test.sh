#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing, builds the UI
# and every crate (the app with its UI embedded) once, then runs every suite inside a
# private D-Bus session with an unlocked gnome-keyring (the real Secret Service), never
# touching your own keyring:
#   - cargo test (engine, sandbox, OneRoster client, CLI end to end, certified OP);
#   - the UI's type check and unit tests (svelte-check, vitest);
#   - the UI in real Chromium with axe-core (ui/tests/e2e.mjs);
#   - the real window under Xvfb through tauri-driver (tests/window/*.test.mjs): sign-in,
#     restart, sign-out, and a deep link handed over by a second instance;
#   - one debug round of the window benchmarks (scripts/bench-window.sh --quick), so
#     the harness keeps working; the figures come from a release run (docs/benchmarks.md).
# Every suite runs even when an earlier one fails; the exit status says whether all passed.
#
#   scripts/test.sh                  every suite
#   scripts/test.sh --list           the suites' names (nothing is built or run)
#   scripts/test.sh --only window    only the suites whose name holds these words, whole
#                                    (case ignored; --only may be given more than once)
# Other arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
only=""
cargo_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --list) exec env RUN_SUITES_LIST=1 scripts/run-suites.sh ;;
    --only)
      [ $# -ge 2 ] || { echo "test.sh: --only needs part of a suite's name (see --list)" >&2; exit 2; }
      only+="$2"$'\n'; shift 2 ;;
    --only=*) only+="${1#--only=}"$'\n'; shift ;;
    *) cargo_args+=("$1"); shift ;;
  esac
done
export RUN_SUITES_ONLY=$only
# A name that picks no suite is a typo: say so before building anything.
if [ -n "$only" ] && [ -z "$(RUN_SUITES_LIST=1 scripts/run-suites.sh)" ]; then
  echo "test.sh: no suite's name holds $(printf %s "$only" | tr '\n' ' ')(scripts/test.sh --list names them)" >&2
  exit 2
fi
scripts/setup.sh
npm --prefix ui run --silent build
cargo build --workspace --all-targets --locked --features rollbook-desktop/custom-protocol,rollbook-desktop/test-hooks
exec scripts/in-test-session.sh scripts/run-suites.sh "${cargo_args[@]}"
