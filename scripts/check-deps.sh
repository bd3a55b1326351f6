#!/usr/bin/env bash
# The dependency rules of docs/architecture.md that a build would not catch: the demo
# district (a test and demo server) is wired in only by the faces (the window's shell)
# and the tests; core, the engine, the OneRoster client, the gateway's product code and
# the shipped `rollbook` command never link it, and nothing below the shell links Tauri.
# The demo district itself links no product crate (the crates it is used to test would
# otherwise meet themselves through it).
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
for crate in rollbook-core rollbook-gradebook rollbook-auth rollbook-oneroster rollbook-gateway rollbook-oauth1 rollbook-error-code rollbook-cli; do
  tree=$(cargo tree --locked -p "$crate" -e normal --prefix none)
  for forbidden in rollbook-sandbox rollbook-demo tauri; do
    if grep -q "^$forbidden v" <<<"$tree"; then
      echo "check-deps: $crate depends on $forbidden (see docs/architecture.md, Dependency rules)" >&2
      failed=1
    fi
  done
done
sandbox_links=$(cargo tree --locked -p rollbook-sandbox -e normal --prefix none |
  grep -o '^rollbook-[a-z0-9-]*' | sort -u |
  grep -vx 'rollbook-sandbox\|rollbook-oauth1\|rollbook-imsx\|rollbook-error-code\|rollbook-owner-only' || true)
if [ -n "$sandbox_links" ]; then
  echo "check-deps: the demo district (rollbook-sandbox) links product crates: $sandbox_links (see docs/architecture.md, Dependency rules)" >&2
  failed=1
fi
# `unsafe` is forbidden workspace-wide; rollbook-owner-only (the Win32 security calls)
# and rollbook-system-idle (GetLastInputInfo) are the crates with lints of their own,
# which allow it in their Windows modules.
for manifest in Cargo.toml crates/*/Cargo.toml tests/*/Cargo.toml benches/*/*/Cargo.toml; do
  case $manifest in crates/owner-only/Cargo.toml | crates/system-idle/Cargo.toml) continue ;; esac
  if ! grep -qzP '\n\[lints\]\nworkspace = true' "$manifest"; then
    echo "check-deps: $manifest does not take the workspace's lints (unsafe_code = forbid)" >&2
    failed=1
  fi
done
if grep -rln 'unsafe' --include=*.rs crates src-tauri tests benches | grep -v '^crates/owner-only/\|^crates/system-idle/' | xargs -r grep -ln 'allow(unsafe_code)' | grep .; then
  echo "check-deps: only crates/owner-only and crates/system-idle may allow unsafe code" >&2
  failed=1
fi
[ "$failed" -eq 0 ] && echo "check-deps: core, the gradebook, auth, oneroster, gateway, oauth1 and the CLI link neither the demo district nor Tauri; the demo district links no product crate; only rollbook-owner-only and rollbook-system-idle allow unsafe code"
exit "$failed"
