#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing, then runs every
# test inside a private D-Bus session with an unlocked gnome-keyring (the real
# Secret Service), never touching your own keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --workspace --all-targets --locked
exec scripts/in-test-session.sh cargo test --workspace --locked --no-fail-fast "$@"
