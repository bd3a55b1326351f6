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

# An X server of our own, instead of `xvfb-run -a`: xvfb-run starts Xvfb and then only
# sleeps a fixed while, so on a busy machine the app could start before the server
# answered ("Failed to initialize GTK"). With -displayfd, Xvfb picks a free display
# itself and writes its number once it listens; xdpyinfo then confirms it answers.
xvfb_pid=""
start_display() {
  local fifo number
  fifo=$(mktemp -u); mkfifo "$fifo"
  Xvfb -displayfd 3 -screen 0 1280x900x24 -nolisten tcp 3>"$fifo" 2>/dev/null &
  xvfb_pid=$!
  if ! read -r -t 60 number <"$fifo"; then rm -f "$fifo"; echo "Xvfb did not start" >&2; return 1; fi
  rm -f "$fifo"
  export DISPLAY=":$number"
  for _ in $(seq 1 300); do xdpyinfo >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "Xvfb on $DISPLAY does not answer" >&2
  return 1
}
installed=""
cleanup() {
  [ -z "$xvfb_pid" ] || kill "$xvfb_pid" 2>/dev/null || true
  [ -z "$installed" ] || $sudo dpkg -r rollbook >/dev/null
}
trap cleanup EXIT

scripts/bundle.sh --debug deb >/dev/null
deb=$(ls -t target/debug/bundle/deb/*.deb | head -1)
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "./$deb" >/dev/null
installed=1
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
start_display
check "a display of our own answers on $DISPLAY"
bash -c '
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
