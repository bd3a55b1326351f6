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
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm --prefix ui run --silent build
cargo build --workspace --all-targets --locked --features rollbook-desktop/custom-protocol,rollbook-desktop/test-hooks
exec scripts/in-test-session.sh scripts/run-suites.sh "$@"
