#!/usr/bin/env bash
# The main job from a fresh machine. With arguments, runs `rollbook ARGS…`.
# Without, signs in against a local OpenID provider (the certified oidc-provider from
# tests/op, which accepts any user name) in your system browser, then shows who you are:
# the whole sign-in path, with no ClassLink account. The embedded demo district replaces
# this local provider when it lands (issue 3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build -q -p rollbook-cli --locked
rollbook=target/debug/rollbook
if [ $# -gt 0 ]; then exec "$rollbook" "$@"; fi

out=$(mktemp)
node tests/op/op.mjs --port 0 > "$out" 2>/dev/null &
op_pid=$!
trap 'kill $op_pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q '^{' "$out" && break; sleep 0.2; done
issuer=$(grep '^{' "$out" | sed -E 's/.*"issuer":"([^"]+)".*/\1/')
echo "Local provider at $issuer: sign in with any name and any password."
"$rollbook" login --issuer "$issuer" --client-id rollbook-desktop
"$rollbook" whoami
"$rollbook" logout
