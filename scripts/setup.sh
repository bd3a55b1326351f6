#!/usr/bin/env bash
# Installs what Rollbook's build and tests need on a fresh Debian 12 machine:
# Debian packages (apt, as root or through sudo) and the test OP's npm packages.
# Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential pkg-config libssl-dev libdbus-1-dev    # build: keyring's Secret Service client
  dbus dbus-x11 gnome-keyring libsecret-tools             # tests: a real keychain
  curl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d tests/op/node_modules/oidc-provider ]; then
  echo "setup: installing the test OP (oidc-provider) from npm"
  npm ci --prefix tests/op --no-audit --no-fund --silent
fi
