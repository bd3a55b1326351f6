#!/usr/bin/env bash
# Long runs of the sync engine's model-based test (crates/gradebook/tests/model.rs):
#   scripts/model-test.sh [CASES]      (default 100000)
# Built with optimisations so a long run fits in a CI-sized slot; prints cases/s.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
PROPTEST_CASES="$cases" cargo test --release --locked -p rollbook-gradebook --test model \
  the_sync_engine_keeps_every_invariant_against_a_model_district -- --nocapture
