#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring, so
# tests use the real Secret Service without touching the user's own keyring.
#   scripts/in-test-session.sh <command> [args…]
#
# gnome-keyring-daemon can abort when a client dies mid-request (upstream's "NULL client
# pointer" assertion, gnome-keyring#190/#196/#199), and the kill -9 tests do exactly
# that. The private bus therefore restarts it the way it was started, unlocked and on the
# same keyring files, instead of D-Bus activating the system's locked default: a crash
# then costs one refused call, as on a teacher's machine, not every test after it.
set -euo pipefail
if [ -z "${ROLLBOOK_IN_TEST_SESSION:-}" ]; then
  export ROLLBOOK_IN_TEST_SESSION=1
  # A throwaway home for the keyring daemon: an existing login keyring with another
  # password would stay locked and every keychain call would wait on a prompt forever.
  keyring_home=$(mktemp -d)
  export ROLLBOOK_KEYRING_HOME=$keyring_home
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$keyring_home/run}"
  mkdir -p "$keyring_home/data" "$keyring_home/services" "$XDG_RUNTIME_DIR"
  chmod 700 "$XDG_RUNTIME_DIR"
  cat > "$keyring_home/keyring-daemon.sh" <<EOF
#!/bin/sh
# Started by the private bus when the Secret Service is asked for and not running.
export HOME='$keyring_home' XDG_DATA_HOME='$keyring_home/data' XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR'
printf %s test-password | exec gnome-keyring-daemon --unlock --foreground --components=secrets
EOF
  chmod 700 "$keyring_home/keyring-daemon.sh"
  printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$keyring_home/keyring-daemon.sh" \
    > "$keyring_home/services/org.freedesktop.secrets.service"
  # The standard session bus, with this folder first: its service wins over the system's.
  sed "s|<standard_session_servicedirs />|<servicedir>$keyring_home/services</servicedir><standard_session_servicedirs />|" \
    /usr/share/dbus-1/session.conf > "$keyring_home/session.conf"
  exec dbus-run-session --config-file="$keyring_home/session.conf" -- "$0" "$@"
fi
keyring_home=$ROLLBOOK_KEYRING_HOME
trap 'rm -rf "$keyring_home"' EXIT
export XDG_DATA_HOME="$keyring_home/data"
eval "$(printf %s test-password | HOME="$keyring_home" gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
export ROLLBOOK_KEYCHAIN_SERVICE="${ROLLBOOK_KEYCHAIN_SERVICE:-org.rollbook.desktop.test}"
"$@"
