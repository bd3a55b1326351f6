#!/usr/bin/env bash
# Two real OS users on one computer (a lab with fast user switching), each in their own
# D-Bus session with their own keyring, both signed in to one demo district with the
# `rollbook` command. Shows that:
#   - user B cannot read A's session record or folders, nor reach A's keychain (A's
#     session bus refuses B);
#   - Rollbook's files are 0600 in 0700 folders, and A's gradebook store is encrypted;
#   - a loopback callback, or a pasted app link, made by A's sign-in cannot complete B's
#     (B's sign-in ends in state_mismatch and stores nothing), while it still completes A's.
# Needs root (useradd, runuser) and a debug build of rollbook, rollbook-sandbox and
# rollbook-test-browser. The users are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "two-users: needs root (useradd); run it through sudo" >&2; exit 2; }
root=$PWD
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
expect() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }

suffix=$$
user_a=rbiso-a-$suffix user_b=rbiso-b-$suffix
work=$(mktemp -d /tmp/rollbook-isolation-XXXXXX)
chmod 755 "$work"
sandbox_pid=""
cleanup() {
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true
  pkill -KILL -u "$user_a" 2>/dev/null || true
  pkill -KILL -u "$user_b" 2>/dev/null || true
  sleep 0.5
  userdel -r "$user_a" 2>/dev/null || true
  userdel -r "$user_b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The binaries and the session script, where both users can run them.
mkdir -p "$work/bin"
cp target/debug/rollbook target/debug/rollbook-test-browser scripts/in-test-session.sh "$work/bin/"
chmod 755 "$work/bin"/*
useradd --create-home --shell /bin/bash "$user_a"
useradd --create-home --shell /bin/bash "$user_b"

port=$((47700 + RANDOM % 200))
demo=http://127.0.0.1:$port
target/debug/rollbook-sandbox --port "$port" --size pair >/dev/null 2>&1 &
sandbox_pid=$!
for _ in $(seq 100); do curl -fsS "$demo/.well-known/openid-configuration" >/dev/null 2>&1 && break; sleep 0.1; done

# Runs COMMAND as USER, in that user's own D-Bus session and keyring (in-test-session.sh
# starts both), with the test keychain service and the user's own home and folders (the
# session script points XDG_DATA_HOME at the keyring's throwaway home; Rollbook's files
# go back under the user's home).
as_user() {
  local user=$1; shift
  runuser -u "$user" -- env -i PATH="$work/bin:/usr/bin:/bin" HOME="/home/$user" \
    ROLLBOOK_DEMO_URL="$demo" ROLLBOOK_KEYCHAIN_SERVICE=org.rollbook.desktop.test \
    "$work/bin/in-test-session.sh" bash -c "export XDG_DATA_HOME=\$HOME/.local/share XDG_CONFIG_HOME=\$HOME/.config; $*"
}

# A stays signed in, in a session that stays up while B looks around: its bus address
# is left for the test (root) to hand to B.
mkdir -p "$work/a" && chown "$user_a" "$work/a" && chmod 700 "$work/a"
as_user "$user_a" '
  rollbook login --demo --timeout 30 --browser-command "rollbook-test-browser --login tch-00001" >/dev/null 2>&1 || exit 1
  echo "$DBUS_SESSION_BUS_ADDRESS" > '"$work/a/bus"'
  secret-tool search --all service org.rollbook.desktop.test > '"$work/a/entries"' 2>&1
  class=$(rollbook classes --json 2>/dev/null | grep -o "\"sourcedId\": *\"[^\"]*\"" | head -1 | cut -d\" -f4)
  rollbook gradebook "$class" --json > /dev/null 2>&1 && echo "$class" > '"$work/a/gradebook"'
  touch '"$work/a/ready"'
  sleep 120' &
a_session=$!
for _ in $(seq 300); do [ -e "$work/a/ready" ] && break; sleep 0.1; done
expect "user A signs in to the demo district (record and keychain entry saved)" \
  test -s "/home/$user_a/.local/share/rollbook/session.json" -a -s "$work/a/entries"
a_bus=$(cat "$work/a/bus")

data_a=/home/$user_a/.local/share/rollbook
modes_ok() {
  [ "$(stat -c %a "$data_a")" = 700 ] && [ "$(stat -c %a "$data_a/session.json")" = 600 ] &&
    [ "$(stat -c %a "$data_a/session.lock")" = 600 ] && [ "$(stat -c %U "$data_a/session.json")" = "$user_a" ]
}
expect "A's data folder is 0700 and its files 0600, owned by A" modes_ok

# A's gradebook (students' names and grades) is in its encrypted store: 0600, not a
# SQLite file to anyone without the key, which lives in A's keychain.
store_a=$(ls "$data_a"/gradebook-*.db 2>/dev/null | head -1)
expect "A read a class's gradebook into its local store" test -s "$work/a/gradebook" -a -n "$store_a"
store_ok() {
  [ "$(stat -c %a "$store_a")" = 600 ] && [ "$(stat -c %U "$store_a")" = "$user_a" ] &&
    [ "$(head -c 15 "$store_a")" != "SQLite format 3" ]
}
expect "A's store is 0600, owned by A, and encrypted (no SQLite header)" store_ok
expect "B cannot read A's store" \
  runuser -u "$user_b" -- bash -c "! cat '$store_a' >/dev/null 2>&1"

# B signs in too, in its own session, then tries to reach A's things.
as_user "$user_b" 'rollbook login --demo --timeout 30 --browser-command "rollbook-test-browser --login tch-00002" >/dev/null 2>&1' || true
expect "user B signs in as another teacher" test -s "/home/$user_b/.local/share/rollbook/session.json"
expect "B cannot read A's session record" \
  runuser -u "$user_b" -- bash -c "! cat '$data_a/session.json' >/dev/null 2>&1"
expect "B cannot list A's data folder" \
  runuser -u "$user_b" -- bash -c "! ls '$data_a' >/dev/null 2>&1"
expect "B cannot reach A's keychain (A's session bus refuses B)" \
  runuser -u "$user_b" -- env DBUS_SESSION_BUS_ADDRESS="$a_bus" bash -c \
    "! secret-tool search --all service org.rollbook.desktop.test >/dev/null 2>&1"
# The control: through the same bus address, A itself finds its entry (so the refusal
# above is the bus telling users apart, not a wrong address).
expect "A reaches its own entry through that bus" \
  runuser -u "$user_a" -- env DBUS_SESSION_BUS_ADDRESS="$a_bus" bash -c \
    "secret-tool search --all service org.rollbook.desktop.test 2>&1 | grep -q 'attribute.service = org.rollbook.desktop.test'"

# A's sign-in answer, sent to B's waiting sign-in (loopback), must not complete it.
chmod 777 "$work" # the users' browsers leave their files here
as_user "$user_a" "rollbook logout >/dev/null 2>&1; rollbook login --demo --timeout 60 --browser-command 'rollbook-test-browser --login tch-00001 --redirect-out $work/a-callback' >/dev/null 2>&1; echo \$? > $work/a-login-exit" &
as_user "$user_b" "rollbook logout >/dev/null 2>&1; rollbook login --demo --timeout 8 --json --browser-command 'rollbook-test-browser --login tch-00002 --redirect-out $work/b-callback' > $work/b-login.json 2>&1; echo \$? > $work/b-login-exit" &
for _ in $(seq 300); do [ -s "$work/a-callback" ] && [ -s "$work/b-callback" ] && break; sleep 0.1; done
a_callback=$(cat "$work/a-callback") b_callback=$(cat "$work/b-callback")
b_listener=${b_callback%%\?*}
a_query=${a_callback#*\?}
crossed=$(curl -s -o /dev/null -w '%{http_code}' "$b_listener?$a_query" || true)
expect "B's listener refuses A's answer (HTTP $crossed)" test "$crossed" = 400
for _ in $(seq 300); do [ -s "$work/b-login-exit" ] && break; sleep 0.1; done
expect "B's sign-in ends in state_mismatch, not signed in as anyone" \
  grep -q state_mismatch "$work/b-login.json"
expect "and B's sign-in stored nothing" test ! -e "/home/$user_b/.local/share/rollbook/session.json"
delivered=$(curl -s -o /dev/null -w '%{http_code}' "$a_callback" || true)
for _ in $(seq 300); do [ -s "$work/a-login-exit" ] && break; sleep 0.1; done
expect "the same answer still completes A's own sign-in (HTTP $delivered)" \
  test "$(cat "$work/a-login-exit")" = 0

# A's pasted app link (custom scheme) offered to B's waiting sign-in.
as_user "$user_a" "rollbook logout >/dev/null 2>&1; rollbook login --demo --redirect scheme --timeout 30 --browser-command 'rollbook-test-browser --login tch-00001 --redirect-out $work/a-link' < <(for _ in \$(seq 300); do [ -s $work/a-link ] && break; sleep 0.1; done; sleep 2; cat $work/a-link) >/dev/null 2>&1; echo \$? > $work/a-link-exit" &
as_user "$user_b" "for _ in \$(seq 300); do [ -s $work/a-link ] && break; sleep 0.1; done; cat $work/a-link | rollbook login --demo --redirect scheme --timeout 5 --json --browser-command true > $work/b-link.json 2>&1; echo \$? > $work/b-link-exit" &
for _ in $(seq 300); do [ -s "$work/b-link-exit" ] && [ -s "$work/a-link-exit" ] && break; sleep 0.1; done
expect "A's app link pasted into B's sign-in is refused (state_mismatch)" \
  grep -q state_mismatch "$work/b-link.json"
expect "and still completes A's own sign-in" test "$(cat "$work/a-link-exit" 2>/dev/null)" = 0
expect "B stays signed out" test ! -e "/home/$user_b/.local/share/rollbook/session.json"

kill "$a_session" 2>/dev/null || true
disown -a # the users' sessions end in cleanup (pkill -u), without job-control noise
echo "two-user isolation: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
