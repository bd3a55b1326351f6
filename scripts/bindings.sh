#!/usr/bin/env bash
# Regenerates ui/src/backend/bindings/ (the IPC types) from the Rust types; commit the
# result. `cargo test` fails while the committed files are out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
ROLLBOOK_WRITE_BINDINGS=1 cargo test --locked -p rollbook-desktop --lib bindings -- --quiet
echo "ui/src/backend/bindings/ regenerated"
