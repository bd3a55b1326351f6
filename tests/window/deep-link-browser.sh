#!/usr/bin/env bash
# A ROLLBOOK_BROWSER for the deep-link test: follows the provider's pages like a browser
# (rollbook-test-browser), and hands the final org.rollbook.desktop: address to a second
# app instance, as the OS would. The first instance must finish the sign-in.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
url=$("$root/target/debug/rollbook-test-browser" "$1")
case "$url" in
  org.rollbook.desktop:*) exec "${ROLLBOOK_APP:-$root/target/debug/rollbook-desktop}" "$url" ;;
  *) echo "deep-link browser: expected a custom-scheme redirect, got: $url" >&2; exit 1 ;;
esac
