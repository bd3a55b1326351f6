#!/usr/bin/env bash
# The fault soak (issue 12, item 12; docs/benchmarks.md): SECONDS (default 600) of a
# flapping provider and roster source while `rollbook` loops and the window sits on a
# roster page. Needs the debug binaries and the UI built (scripts/test.sh builds them).
#
#   scripts/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECONDS="${1:-600}"
exec scripts/in-test-session.sh xvfb-run -a -s "-screen 0 1280x900x24" node tests/soak/soak.mjs
