#!/usr/bin/env bash
# The .deb as IT installs it: build it (scripts/bundle.sh --debug deb: the debug profile,
# to reuse the test build), install it with apt, and call both binaries from PATH:
# `rollbook` (--version, doctor --json) and `rollbook-desktop` (its window opens under
# Xvfb and closes cleanly when asked as a window manager would). Then the updater, against
# a local update server: the same .deb, repacked as version 0.1.1 and signed with a
# TEST-ONLY key (tests/packaging/update-test-key; this build trusts its public key through
# ROLLBOOK_BUNDLE_CONFIG, release builds keep the release key): a payload signed by another
# key is refused, AutoUpdate=0 sends no request at all (window or command), the window asks
# at start, and `rollbook-desktop --update` installs the update. Then it is removed.
# Needs root (or sudo: the policy file is /etc/rollbook/policy.json, root's), and the test
# session (scripts/in-test-session.sh) for the keyring.
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
server_pid="" policy_saved="" policy_dir_made=""
policy=/etc/rollbook/policy.json
cleanup() {
  [ -z "$xvfb_pid" ] || kill "$xvfb_pid" 2>/dev/null || true
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -z "$installed" ] || $sudo dpkg -r rollbook >/dev/null
  # The machine's own policy file, as it was.
  if [ -n "$policy_saved" ]; then
    if [ -f "$policy_saved" ]; then $sudo cp -p "$policy_saved" "$policy"; else $sudo rm -f "$policy"; fi
    [ -n "$policy_dir_made" ] && $sudo rmdir /etc/rollbook 2>/dev/null || true
  fi
}
trap cleanup EXIT

keys=tests/packaging/update-test-key
ROLLBOOK_BUNDLE_CONFIG=$keys/test-build.json scripts/bundle.sh --debug deb >/dev/null
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

# --- Updates ---------------------------------------------------------------------------
# The update server: the same package as version 0.1.1 (one build is enough), signed for
# that version with the test key, and the same file signed by a key this build does not
# trust. python's http.server logs every request it gets.
updates=$(mktemp -d)
repack=$(mktemp -d)
dpkg-deb -R "$deb" "$repack/pkg"
sed -i 's/^Version: .*/Version: 0.1.1/' "$repack/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z1 -b "$repack/pkg" "$updates/Rollbook_0.1.1_amd64.deb" >/dev/null
rm -rf "$repack"
# Signed as `tauri build` signs (for the version the manifest announces), and the
# manifest written by the release job's own script.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ui/node_modules/.bin/tauri signer sign -f $keys/test-only.key -p test-only --app-version 0.1.1 \
  "$updates/Rollbook_0.1.1_amd64.deb" >/dev/null
node packaging/update-manifest.mjs --version 0.1.1 --base-url "http://127.0.0.1:$port" "$updates" >"$updates/latest.json"
mkdir "$updates/other-key"
cp "$updates/Rollbook_0.1.1_amd64.deb" "$updates/other-key/"
ui/node_modules/.bin/tauri signer sign -f $keys/other-test-only.key -p test-only --app-version 0.1.1 \
  "$updates/other-key/Rollbook_0.1.1_amd64.deb" >/dev/null
node packaging/update-manifest.mjs --version 0.1.1 --base-url "http://127.0.0.1:$port" "$updates/other-key" >"$updates/bad.json"
requests=$updates/requests.log
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$updates" 2>>"$requests" >/dev/null &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/latest.json" >/dev/null 2>&1 && break; sleep 0.1; done
: >"$requests"
asked() { grep -c "GET /$1" "$requests" || true; }

# Policy as IT sets it on Linux: root's file in root's folder.
saved=$(mktemp); rm -f "$saved"
[ -f "$policy" ] && cp -p "$policy" "$saved"
[ -d /etc/rollbook ] || policy_dir_made=1
policy_saved=$saved
set_policy() { $sudo install -d -m 755 /etc/rollbook; echo "$1" | $sudo tee "$policy" >/dev/null; $sudo chmod 644 "$policy"; }
# The updater installs the .deb through pkexec, a graphical sudo, or sudo. Root's sudo
# changes nothing; where this machine has none, a stand-in that just runs the command.
shim=$(mktemp -d)
if [ "$(id -u)" -eq 0 ] && ! command -v sudo >/dev/null; then
  printf '#!/bin/sh\nexec "$@"\n' >"$shim/sudo"; chmod 755 "$shim/sudo"
fi
installed_version() { dpkg-query -W -f '${Version}' rollbook; }

# The window asks at start, when policy allows, at the address policy gives.
window_for() { # SECONDS: opens the window, keeps it that long, closes it
  bash -c '
    rollbook-desktop & app=$!
    for _ in $(seq 1 150); do tests/window/close-window.py --exists Rollbook && break; sleep 0.2; done
    sleep "$1"
    tests/window/close-window.py Rollbook
    for _ in $(seq 1 100); do kill -0 $app 2>/dev/null || break; sleep 0.1; done
    kill $app 2>/dev/null; wait $app || true' _ "$1"
}
set_policy "{\"UpdateUrl\": \"http://127.0.0.1:$port/latest.json\"}"
window_for 6
[ "$(asked latest.json)" -ge 1 ] || { cat "$requests" >&2; echo "the window did not ask for an update at start" >&2; exit 1; }
[ "$(installed_version)" = 0.1.0 ] || { echo "the window installed without the teacher's click" >&2; exit 1; }
check "the window asks the UpdateUrl mirror at start and installs nothing by itself"

# AutoUpdate=0: not one request, from the window or the command.
: >"$requests"
set_policy "{\"AutoUpdate\": 0, \"UpdateUrl\": \"http://127.0.0.1:$port/latest.json\"}"
window_for 6
status=0; out=$(PATH=$shim:$PATH rollbook-desktop --update) || status=$?
[ "$status" -eq 2 ] && [[ "$out" == *"AutoUpdate = 0"* ]] || { echo "AutoUpdate=0: exit $status: $out" >&2; exit 1; }
[ ! -s "$requests" ] || { cat "$requests" >&2; echo "AutoUpdate=0, yet the update server was asked" >&2; exit 1; }
check "AutoUpdate=0: no request reaches the update server (window and rollbook-desktop --update): $out"

# A payload whose signature is not by the key this build trusts is refused.
set_policy "{\"UpdateUrl\": \"http://127.0.0.1:$port/bad.json\"}"
status=0; out=$(PATH=$shim:$PATH rollbook-desktop --update) || status=$?
[ "$status" -eq 1 ] && [[ "$out" == *"update_signature_invalid"* ]] || { echo "bad signature: exit $status: $out" >&2; exit 1; }
[ "$(asked Rollbook_0.1.1_amd64.deb)" -ge 1 ] || { echo "the refused update was never downloaded" >&2; exit 1; }
[ "$(installed_version)" = 0.1.0 ] || { echo "a badly signed update was installed" >&2; exit 1; }
check "an update signed by another key is downloaded, refused with a clear message, and not installed"

# The installed app updates itself.
set_policy "{\"UpdateUrl\": \"http://127.0.0.1:$port/latest.json\"}"
status=0; out=$(PATH=$shim:$PATH rollbook-desktop --update) || status=$?
[ "$status" -eq 0 ] && [[ "$out" == *"0.1.1 is installed"* ]] || { echo "update: exit $status: $out" >&2; exit 1; }
[ "$(installed_version)" = 0.1.1 ] || { echo "dpkg still has $(installed_version)" >&2; exit 1; }
check "rollbook-desktop --update installs the signed 0.1.1 (dpkg now has $(installed_version))"
echo "deb install: $passed passed"
