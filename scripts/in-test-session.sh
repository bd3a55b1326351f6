#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring, so
# tests use the real Secret Service without touching the user's own keyring.
#   scripts/in-test-session.sh <command> [args…]
set -euo pipefail
if [ -z "${ROLLBOOK_IN_TEST_SESSION:-}" ]; then
  export ROLLBOOK_IN_TEST_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
# A throwaway home for the keyring daemon: an existing login keyring with another
# password would stay locked and every keychain call would wait on a prompt forever.
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
export XDG_DATA_HOME="$keyring_home/data" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$keyring_home/run}"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
eval "$(echo -n test-password | HOME="$keyring_home" gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
export ROLLBOOK_KEYCHAIN_SERVICE="${ROLLBOOK_KEYCHAIN_SERVICE:-org.rollbook.desktop.test}"
"$@"
