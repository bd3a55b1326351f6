#!/usr/bin/env bash
# The .deb as IT installs it: build it (scripts/bundle.sh --debug deb: the debug profile,
# to reuse the test build), install it with apt, and call both binaries from PATH:
# `rollbook` (--version, doctor --json) and `rollbook-desktop` (its window opens under
# Xvfb and closes cleanly when asked as a window manager would). Then it is removed.
# Needs root (or sudo), and the test session (scripts/in-test-session.sh) for the keyring.
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
passed=0
check() { echo "ok   $1"; passed=$((passed + 1)); }

scripts/bundle.sh --debug deb >/dev/null
deb=$(ls -t target/debug/bundle/deb/*.deb | head -1)
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "./$deb" >/dev/null
trap '$sudo dpkg -r rollbook >/dev/null' EXIT
check "apt installs $(basename "$deb")"

[ "$(command -v rollbook)" = /usr/bin/rollbook ] && [ "$(command -v rollbook-desktop)" = /usr/bin/rollbook-desktop ]
version=$(rollbook --version)
[[ "$version" == *"0.1.0"* ]]
check "both commands are on PATH; rollbook --version says: $version"

home=$(mktemp -d)
doctor=$(HOME=$home XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/data rollbook doctor --json || true)
echo "$doctor" | node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!Array.isArray(d.checks) || !Array.isArray(d.settings)) process.exit(1);'
check "the installed rollbook doctor --json lists its checks and the settings in force"

grep -q "x-scheme-handler/org.rollbook.desktop" /usr/share/applications/Rollbook.desktop
check "the desktop entry registers the org.rollbook.desktop: scheme"

export HOME=$home XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/data XDG_CACHE_HOME=$home/cache
xvfb-run -a -s "-screen 0 1280x900x24" bash -c '
  rollbook-desktop & app=$!
  for _ in $(seq 1 150); do
    tests/window/close-window.py --exists Rollbook && break
    kill -0 $app 2>/dev/null || { echo "rollbook-desktop exited early" >&2; exit 1; }
    sleep 0.2
  done
  sleep 2
  tests/window/close-window.py Rollbook
  for _ in $(seq 1 100); do kill -0 $app 2>/dev/null || break; sleep 0.1; done
  if kill -0 $app 2>/dev/null; then echo "rollbook-desktop did not close" >&2; kill $app; exit 1; fi
  wait $app'
check "the installed rollbook-desktop opens its window and closes when asked"
echo "deb install: $passed passed"
