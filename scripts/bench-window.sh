#!/usr/bin/env bash
# Window benchmarks (docs/benchmarks.md): Rollbook's start-up and idle memory against a
# bare Tauri window built the same way (release profile, custom-protocol, the same
# marks), then both .deb sizes.
#   scripts/bench-window.sh [--rounds N] [--quick] [--no-bundles]
# --quick: debug builds, one round, no bundles; CI runs it so the harness cannot rot.
# WEBKIT_DISABLE_COMPOSITING_MODE=1 in the environment measures without WebKit's
# compositor (under Xvfb it runs on Mesa's software GL; see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=15 quick= bundles=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --quick) quick=1 rounds=1 bundles=; shift ;;
    --no-bundles) bundles=; shift ;;
    *) echo "usage: $0 [--rounds N] [--quick] [--no-bundles]" >&2; exit 2 ;;
  esac
done

npm --prefix ui run build --silent >/dev/null
# The roster page as static HTML, for the bare window (embedded when it is built below).
node benches/window/snapshot.mjs
features=rollbook-desktop/custom-protocol,rollbook-desktop/bench-marks,rollbook-bare-window/custom-protocol
profile=release dir=target/release
if [ -n "$quick" ]; then profile=dev dir=target/debug; fi
cargo build --locked --profile "$profile" -p rollbook-desktop -p rollbook-bare-window \
  -p rollbook-fake-op --bin rollbook-desktop --bin rollbook-bare-window --bin rollbook-test-browser \
  --features "$features"

export ROLLBOOK_APP="$PWD/$dir/rollbook-desktop" BARE_APP="$PWD/$dir/rollbook-bare-window" \
  ROLLBOOK_TEST_BROWSER="$PWD/$dir/rollbook-test-browser"
run=(xvfb-run -a -s "-screen 0 1280x900x24" node benches/window/measure.mjs --rounds "$rounds")
if [ -n "${ROLLBOOK_IN_TEST_SESSION:-}" ]; then
  "${run[@]}" # already in the test session (scripts/run-suites.sh)
else
  scripts/in-test-session.sh "${run[@]}"
fi

if [ -n "$bundles" ]; then
  echo
  echo "bundles (.deb, release):"
  # The bare window's bundle as it is in git: without the roster page snapshot.
  rm -rf benches/window/bare/dist/roster-page.html benches/window/bare/dist/assets
  ui/node_modules/.bin/tauri build --bundles deb >/dev/null
  (cd benches/window/bare && ../../../ui/node_modules/.bin/tauri build --bundles deb >/dev/null)
  for deb in target/release/bundle/deb/*.deb; do
    printf '  %-60s %s bytes\n' "$(basename "$deb")" "$(stat -c %s "$deb")"
  done
fi
