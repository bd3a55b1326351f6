#!/usr/bin/env bash
# Rollbook's Windows build on Windows APIs, under Wine (Debian's wine64, Wine 8): the
# registry (Group Policy), Credential Manager, %LOCALAPPDATA%, security descriptors. The demo
# district, rollbook.exe and rollbook-gateway.exe are all the Windows builds
# (scripts/windows-build.sh), each in a fresh Wine prefix made for this run.
# Wine 8 lacks bcryptprimitives.dll, which every Rust executable loads: a test-only shim
# (bcryptprimitives.c) is built here and put beside the executables in the prefix; it
# is never shipped (../shared/DESIGN.md, "Windows on these Linux machines").
# wincheck.c reads back, through the Win32 APIs, what Rollbook left in Credential
# Manager. Wine's own chatter goes to the run's log files;
# the output is one line per check.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
started=$(date +%s)
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
expect() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }

wine64=/usr/lib/wine/wine64
[ -x "$wine64" ] || { echo "windows: wine64 is missing (scripts/setup.sh installs it)" >&2; exit 2; }
exe_dir=$(scripts/windows-build.sh --window --installer | tail -1)

work=$(mktemp -d /tmp/rollbook-windows-XXXXXX)
# The prefix is a throwaway Windows of its own, so Rollbook keeps its credentials under
# the product's service name, as on a teacher's computer (the Linux test session's
# ROLLBOOK_KEYCHAIN_SERVICE would rename them, and debug builds obey it).
unset ROLLBOOK_KEYCHAIN_SERVICE
# winemenubuilder off: the installer's shortcuts stay in the prefix, not the host's menus.
# Wine's own chatter off, but a DLL that does not load or an exception nobody handles
# is still written to the step's log (a process that dies without a word otherwise).
export WINEPREFIX=$work/prefix WINEDEBUG=-all,err+module,err+seh WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
sandbox_pid="" gateway_pid=""
cleanup() {
  local status=$?
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true
  "${wine64%/*}/wineserver64" -k 2>/dev/null || true
  if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then echo "windows: logs kept in $work/logs"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# A step outside the checks that fails stops the suite; say where instead of ending
# quietly after the last check printed.
trap 'echo "windows: stopped: a command failed at line $LINENO (exit $?)" >&2' ERR
trap 'exit 1' INT TERM
mkdir -p "$work/logs"
log=$work/logs

# --- The window's executable: linked, not run (WebView2 cannot be installed here) ----
# A PE32+ program for the GUI subsystem (main.rs's windows_subsystem: no console window
# behind it), and WebView2 reached through WebView2Loader.dll, which the GNU build
# imports (MinGW cannot link Microsoft's static loader), so it must sit beside it.
window_exe=$exe_dir/rollbook-desktop.exe loader_dll=$exe_dir/WebView2Loader.dll
x86_64-w64-mingw32-objdump -p "$window_exe" >"$work/window-pe.txt" 2>"$log/objdump.log" || true
x86_64-w64-mingw32-objdump -p "$loader_dll" >"$work/loader-pe.txt" 2>>"$log/objdump.log" || true
pe32plus() { grep -qE '^Magic[[:space:]]+020b[[:space:]]+\(PE32\+\)' "$1"; }
gui() { grep -qE '^Subsystem[[:space:]]+00000002[[:space:]]+\(Windows GUI\)' "$work/window-pe.txt"; }
# The functions it takes from WebView2Loader.dll: the block after its "DLL Name" line.
imports_loader() {
  awk '/DLL Name:/ { in_loader = ($3 == "WebView2Loader.dll") }
       in_loader && / CreateCoreWebView2EnvironmentWithOptions$/ { found = 1 }
       END { exit !found }' "$work/window-pe.txt"
}
loader_exports() { pe32plus "$work/loader-pe.txt" && grep -q CreateCoreWebView2EnvironmentWithOptions "$work/loader-pe.txt"; }
expect "rollbook-desktop.exe is linked for Windows: a PE32+ executable" pe32plus "$work/window-pe.txt"
expect "... for the GUI subsystem (no console window)" gui
expect "... importing CreateCoreWebView2EnvironmentWithOptions from WebView2Loader.dll" imports_loader
expect "... and WebView2Loader.dll (64-bit, exporting it) is beside it" loader_exports

"$wine64" wineboot -i >"$log/wineboot.log" 2>&1
bin=$WINEPREFIX/drive_c/rollbook
mkdir -p "$bin"
for exe in rollbook rollbook-gateway rollbook-sandbox rollbook-test-browser rollbook-owner-only-tests; do
  cp "$exe_dir/$exe.exe" "$bin/"
done
x86_64-w64-mingw32-gcc -O2 -shared -o "$bin/bcryptprimitives.dll" \
  tests/windows/bcryptprimitives.c tests/windows/bcryptprimitives.def -ladvapi32
x86_64-w64-mingw32-gcc -O2 -municode -o "$bin/wincheck.exe" tests/windows/wincheck.c -ladvapi32

# Runs a Windows program of $bin with the prefix's environment; stderr to the step's log.
# Wine's console turns "\n" into "\r\n"; the checks read Unix lines.
win() { local step=$1 exe=$2; shift 2; "$wine64" "$bin/$exe.exe" "$@" 2>>"$log/$step.log" | tr -d '\r'; }
rb() { local step=$1; shift; win "$step" rollbook "$@"; }
reg() { "$wine64" reg "$@" >>"$log/reg.log" 2>&1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
winuser=$(id -un)
# Rollbook's data is in %LOCALAPPDATA% (never roaming); releases before wrote it to
# %APPDATA%, and the first start moves it.
roaming_data_unix=$WINEPREFIX/drive_c/users/$winuser/AppData/Roaming/rollbook/Rollbook/data
data_unix=$WINEPREFIX/drive_c/users/$winuser/AppData/Local/rollbook/Rollbook/data
mkdir -p "$roaming_data_unix/logs"
echo "an older release's log" >"$roaming_data_unix/logs/rollbook.1.log"

# The demo district: the Windows build, on Windows' sockets. Its refresh tokens are
# padded to 3,000 characters, as a provider with large self-contained tokens issues
# them: a saved session then exceeds one Credential Manager entry (2,560 bytes), and
# Rollbook splits it (docs/sign-in.md).
"$wine64" "$bin/rollbook-sandbox.exe" --port 0 --size pair --json --gateway-port 0 --pad-refresh-tokens 3000 \
  >"$work/sandbox.json" 2>"$log/sandbox.log" &
sandbox_pid=$!
for _ in $(seq 300); do [ -s "$work/sandbox.json" ] && break; sleep 0.1; done
demo=$(json 'd["issuer"]' <"$work/sandbox.json")
export ROLLBOOK_DEMO_URL=$demo
expect "the demo district (rollbook-sandbox.exe) starts under Wine at $demo" \
  curl -fsS -o /dev/null "$demo/.well-known/openid-configuration"

# --- Data moved out of the roaming profile ------------------------------------------
rb doctor-first doctor >/dev/null 2>&1 || true
moved() { [ -f "$data_unix/logs/rollbook.1.log" ] && [ ! -e "$roaming_data_unix/logs" ]; }
expect "the first start moves an older release's data from %APPDATA% to %LOCALAPPDATA%" moved

# --- Policy from the registry -------------------------------------------------------
machine='HKLM\SOFTWARE\Policies\Rollbook' user='HKCU\SOFTWARE\Policies\Rollbook'
reg add "$machine" /v RedirectMode /t REG_SZ /d loopback /f
reg add "$user" /v RedirectMode /t REG_SZ /d scheme /f
reg add "$user" /v IdleSignOutMinutes /t REG_DWORD /d 30 /f
reg add "$machine" /v SharedMachine /t REG_DWORD /d 0 /f
reg add "$user" /v SharedMachine /t REG_DWORD /d 1 /f
reg add "$machine" /v Issuer /t REG_SZ /d http://idp.example.org /f
rb doctor doctor --json >"$work/doctor.json" || true
setting() { # KEY -> "value origin"
  json "next(((str(s['value']) + ' ' + s['origin']['kind']) for s in d['settings'] if s['key'] == '$1'), '')" <"$work/doctor.json"
}
expect "doctor: machine policy RedirectMode (REG_SZ) wins over user policy's" \
  test "$(setting RedirectMode)" = "loopback machine_policy"
expect "doctor: user policy IdleSignOutMinutes (REG_DWORD) is read with origin user_policy" \
  test "$(setting IdleSignOutMinutes)" = "30 user_policy"
expect "doctor: machine policy SharedMachine=0 (REG_DWORD) wins over user policy's 1" \
  test "$(setting SharedMachine)" = "False machine_policy"
bad_named() { json "any(p['key'] == 'Issuer' and 'HKLM' in str(p) for p in d['policy_problems'])" <"$work/doctor.json" | grep -qx True; }
issuer_not_policy() { ! setting Issuer | grep -q policy; }
expect "doctor: a plain-http Issuer under HKLM is named as a problem" bad_named
expect "doctor: ... and ignored (Issuer does not come from policy)" issuer_not_policy
reg add "$machine" /v DemoDistrictAllowed /t REG_DWORD /d 0 /f
refused() { ! rb login-refused login --demo --timeout 10 >/dev/null && grep -q 'policy_forbidden.*demo district' "$log/login-refused.log"; }
expect "DemoDistrictAllowed=0 under HKLM refuses login --demo" refused
reg delete "$machine" /f
reg delete "$user" /f

# --- Sign-in, Credential Manager, a second process, sign-out -------------------------
login() { rb "login-$1" login --demo --timeout 60 --json --browser-command "rollbook-test-browser --login $1" >"$work/login-$1.json"; }
expect "login --demo signs in through the loopback redirect (test browser)" login tch-00001
# keyring names a credential "{account}.{service}"; Wine's CredEnumerateW takes no
# leading wildcard, so all are listed and filtered here.
creds() { win creds wincheck creds '*' | grep -F '.org.rollbook.desktop'$'\t' || true; }
creds >"$work/creds.txt"
session_entries() { grep -v "local-store-key" "$work/creds.txt" || true; }
expect "Credential Manager holds the session (read back with CredEnumerateW)" \
  test -n "$(session_entries)"
fits() { awk -F'\t' '$2 > 2560 { bad = 1 } END { exit bad }' "$work/creds.txt"; }
expect "every credential fits Windows' 2,560-byte blob" fits
# The session as Rollbook saved it: one entry, or a head entry
# ("rollbook-chunks:v1:GENERATION:COUNT:SHA256") naming parts "ACCOUNT #GENERATION.N".
read_session() {
  local target head generation count account
  : >"$work/session.txt"
  target=$(session_entries | cut -f1 | { grep -v ' #' || true; } | head -1)
  [ -n "$target" ] || return 0
  head=$(win blob wincheck blob "$target") || return 0
  if [[ $head == rollbook-chunks:v1:* ]]; then
    IFS=: read -r _ _ generation count _ <<<"$head"
    account=${target%.org.rollbook.desktop}
    for ((i = 0; i < count; i++)); do
      win blob wincheck blob "$account #$generation.$i.org.rollbook.desktop" >>"$work/session.txt" || return 0
    done
    echo "$count" >"$work/session-parts.txt"
  else
    printf '%s' "$head" >"$work/session.txt"
    echo 1 >"$work/session-parts.txt"
  fi
}
read_session
split_in_parts() { [ "$(cat "$work/session-parts.txt")" -ge 2 ]; }
expect "the session (over 2,560 bytes) is split into several Credential Manager entries" split_in_parts
field() { grep -o "\"$1\":\"[^\"]*\"" "$work/session.txt" | head -1 | cut -d'"' -f4 || true; }
refresh_token=$(field rt) access_token=$(field at)
expect "the refresh token (3,000 characters) is read back whole from Credential Manager" \
  test "${#refresh_token}" -gt 3000
not_in_files() { [ -n "$refresh_token" ] && ! grep -rqF "$refresh_token" "$WINEPREFIX/drive_c"; }
expect "the refresh token is in no file of the prefix's drive" not_in_files
sub=$(json 'd["sub"]' <"$work/login-tch-00001.json" || true)
whoami_refresh() {
  rb whoami whoami --refresh --json >"$work/whoami.json" && [ "$(json 'd["sub"]' <"$work/whoami.json")" = "$sub" ] || return 1
  # The renewed access token is back in Credential Manager for the next process.
  creds >"$work/creds.txt"
  read_session
  [ -n "$(field at)" ] && [ "$(field at)" != "$access_token" ] && [ "$(field rt)" != "$refresh_token" ]
}
expect "whoami --refresh in a second process renews the session (the split one, rotated token)" whoami_refresh
# The head and its parts only: the previous generation's parts were deleted.
no_old_parts() { [ "$(session_entries | wc -l)" -eq $(($(cat "$work/session-parts.txt") + 1)) ]; }
expect "... and leaves no part of the previous one behind" no_old_parts

# --- Grades against the demo district -----------------------------------------------
rb classes classes --json >"$work/classes.json"
class=$(json 'd[0]["sourcedId"]' <"$work/classes.json")
rb gradebook gradebook "$class" --json >"$work/gradebook.json"
line_item=$(json 'd["gradebook"]["columns"][0]["sourcedId"]' <"$work/gradebook.json")
student=$(json 'd["gradebook"]["students"][0]["sourcedId"]' <"$work/gradebook.json")
graded() { rb grade grade "$class" "$line_item" "$student" 9.5 >/dev/null; }
expect "grade saves a score in the local store" graded
synced() { rb sync sync --json >"$work/sync.json" && json 'd' <"$work/sync.json" | grep -q -i sent; }
expect "sync writes it back to the demo district" synced
csv() { rb csv gradebook "$class" --csv >"$work/gradebook.csv" && grep -q '9\.5' "$work/gradebook.csv"; }
expect "gradebook --csv shows the synced grade" csv
store=$(ls "$data_unix"/gradebook-*.db 2>/dev/null | head -1 || true)
encrypted() { [ -n "$store" ] && [ "$(head -c 15 "$store" | tr -d '\0')" != "SQLite format 3" ]; }
expect "the store is under %LOCALAPPDATA%\\rollbook\\Rollbook\\data (not roaming) and has no plain SQLite header" encrypted
not_roaming() { ! ls "$roaming_data_unix"/gradebook-* >/dev/null 2>&1; }
expect "nothing of the store is in the roaming %APPDATA%" not_roaming

# --- Files only the teacher can read (the DACL read back with GetFileSecurityW) --------
# No inherited ACE, the user with full control and nobody else but SYSTEM and
# Administrators: no Everyone, Users or Authenticated Users. Wine 8 keeps a file's
# security as unix mode bits only (storing descriptors is a wine-staging patch): it
# applies Rollbook's DACL (SetKernelObjectSecurity) as mode bits and reads back the
# user, SYSTEM and, when others may read, Everyone; it cannot show the DACL's
# protection or its Administrators ACE, so the check allows an unprotected one here
# (wincheck requires protection without `unprotected-ok`). A file Rollbook did not
# restrict reads back with Everyone (umask 022), so each check fails without the DACL.
# rollbook-owner-only's own tests (Windows build): a file or folder it creates has the
# owner-only DACL from its first instant, before (and without) the DACL set on an open
# handle, which a handle another account opened in between would outlive; an existing
# one loses a wider ACL and keeps its content.
owner_only_tests() { win owner-only-tests rollbook-owner-only-tests >"$log/owner-only-tests.txt" 2>&1 && grep -q '^test result: ok. [1-9]' "$log/owner-only-tests.txt"; }
expect "files and folders are created with the owner-only DACL in place (rollbook-owner-only's tests)" owner_only_tests
data_win="C:\\users\\$winuser\\AppData\\Local\\rollbook\\Rollbook\\data"
owner_only() { # NAME WINDOWS-PATH
  win "acl-$1" wincheck owner-only "$2" unprotected-ok >"$log/acl-$1.txt"
}
expect "the store's DACL allows only the teacher, SYSTEM and Administrators, nothing inherited" \
  owner_only store "$data_win\\${store##*/}"
expect "... and so does its folder's (%LOCALAPPDATA%\\rollbook\\Rollbook\\data)" owner_only folder "$data_win"
expect "... and the log file's" owner_only log "$data_win\\logs\\rollbook.log"

# --- The gateway ---------------------------------------------------------------------
"$wine64" "$bin/rollbook-gateway.exe" --demo-district "$demo" >"$work/gateway.out" 2>"$log/gateway.log" &
gateway_pid=$!
for _ in $(seq 300); do grep -q '^listening on' "$work/gateway.out" 2>/dev/null && break; sleep 0.1; done
gateway=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$work/gateway.out" | head -1)
gw_login() { # STEP TEACHER
  rb "$1" login --issuer "$demo" --client-id rollbook-desktop --profile classlink \
    --classlink-api-url "$demo" --oneroster-url "$gateway/ims/oneroster/v1p1" \
    --scope "profile email oneroster" --timeout 60 \
    --browser-command "rollbook-test-browser --login $2" >/dev/null
}
via_gateway() { # TEACHER: signs in with the roster read through rollbook-gateway.exe
  rb logout logout --discard-unsent >/dev/null || true
  local status=0
  gw_login "gw-login-$1" "$1" || status=$?
  # Once in CI this second sign-in left no session and printed nothing at all, not even
  # its first line (/work/notes/closing.md, "CI"); 22 loops of logout, grade, logout
  # --discard-unsent and this sign-in did not show it again, so it is not diagnosed. It
  # is tried once more, said on the suite's output with the first attempt's exit status
  # (Wine's module and exception errors are in its log), so the next time tells more.
  if ! rb "gw-whoami-$1" whoami --json >/dev/null; then
    echo "note: the sign-in of $1 through rollbook-gateway.exe left no session (exit $status, log $log/gw-login-$1.log); tried once more"
    gw_login "gw-login-again-$1" "$1"
  fi
}
via_gateway tch-00002 || true
other_class=$(rb gw-classes classes --json | json 'd[0]["sourcedId"]' || true)
via_gateway tch-00001 || true
own_class=$(rb gw-classes classes --json | json 'd[0]["sourcedId"]' || true)
expect "rollbook-gateway.exe serves a teacher their classes" test -n "$own_class" -a -n "$gateway"
own_roster() { rb gw-roster roster "$own_class" --json >/dev/null; }
expect "... and their roster" own_roster
refuses() { [ -n "$other_class" ] && ! rb gw-other roster "$other_class" --json >/dev/null; }
expect "... and refuses another teacher's roster" refuses

# --- Sign-out ------------------------------------------------------------------------
signed_out() { rb logout logout --discard-unsent >/dev/null; }
expect "logout signs out" signed_out
gone() { ! creds | grep -q .; }
expect "logout removes the session's credentials" gone

# --- The NSIS installer (packaging/windows/rollbook.nsi, built with makensis) ----------
# What docs/it-admins.md ("Installing", "Wiping a machine") promises: a per-machine
# install in Program Files, the org.rollbook.desktop scheme under HKLM\Software\Classes,
# rollbook.exe in the install folder and on the machine PATH; a silent uninstall removes
# those and leaves the teacher's data; /DELETEAPPDATA runs rollbook doctor
# --wipe-local-data, which refuses while a grade waits to be sent and otherwise deletes
# the data (the log folder stays) and the web view's folder.
# A grade that waits: signed in again, graded, never synced.
login tch-00001 >/dev/null || true
rb grade-unsent grade "$class" "$line_item" "$student" 7 >/dev/null || true
kill "$gateway_pid" "$sandbox_pid" 2>/dev/null || true
gateway_pid="" sandbox_pid=""
timeout 60 "${wine64%/*}/wineserver64" -w || true
setup=$(ls "$exe_dir"/Rollbook_*_x64-setup.exe)
# The test-only shim where a program run from the PATH finds it; never in the installer.
cp "$bin/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
install_dir=$WINEPREFIX/drive_c/Program\ Files/Rollbook
local_unix=$WINEPREFIX/drive_c/users/$winuser/AppData/Local
webview_unix=$local_unix/org.rollbook.desktop
install() {
  mkdir -p "$webview_unix/EBWebView" # as the window's web view leaves it
  "$wine64" "$setup" /S >>"$log/installer.log" 2>&1 && [ -f "$install_dir/rollbook.exe" ]
}
# The uninstaller runs a copy of itself from %TEMP%: wait until every Wine process ends.
uninstall() {
  "$wine64" "C:\\Program Files\\Rollbook\\uninstall.exe" /S "$@" >>"$log/installer.log" 2>&1
  timeout 60 "${wine64%/*}/wineserver64" -w || true
}
regq() { "$wine64" reg query "$@" 2>>"$log/reg.log" | tr -d '\r'; }
scheme() { regq 'HKLM\Software\Classes\org.rollbook.desktop\shell\open\command' /ve; }
machine_path() { regq 'HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment' /v Path; }
store_left() { ls "$data_unix"/gradebook-*.db >/dev/null 2>&1; }
# A machine PATH the installer's strings cannot hold (NSIS: 1,024 characters) is left
# exactly as it was, whether it is already longer (ReadRegStr then reads "": the PATH
# was replaced by the install folder alone) or only adding the folder would overflow
# (the result was cut). Set to a given length, installed over, put back.
path_value() { machine_path | sed -n 's/^ *Path *REG_[A-Z_]*SZ *//p'; }
set_path() { "$wine64" reg add 'HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment' /v Path /t REG_EXPAND_SZ /d "$1" /f >>"$log/reg.log" 2>&1; }
path_of_length() { # BASE LENGTH: BASE, then tool folders up to exactly LENGTH characters
  python3 -c 'import sys
p, n = sys.argv[1], int(sys.argv[2]); i = 0
while len(p) < n - 30: p += ";C:\\Tools\\tool%03d\\bin" % i; i += 1
p += ";C:\\Tools\\" + "x" * (n - len(p) - 10)
print(p)' "$1" "$2"
}
original_path=$(path_value)
long_path_kept() { # LENGTH
  local long; long=$(path_of_length "$original_path" "$1")
  [ "${#long}" = "$1" ] && set_path "$long" && install && [ "$(path_value)" = "$long" ]
}
expect "a silent install leaves a machine PATH of 1,500 characters exactly as it was" long_path_kept 1500
uninstall
expect "... and one of 1,010 characters, which the install folder would push past 1,024" long_path_kept 1010
uninstall
# An install folder already on the machine PATH (an administrator put it there) is not
# the installer's to take off: the install adds nothing, so the uninstall removes nothing.
preset_path_kept() {
  local preset="$original_path;C:\\Program Files\\Rollbook"
  set_path "$preset" && install && uninstall && [ ! -e "$install_dir" ] && [ "$(path_value)" = "$preset" ]
}
expect "an install folder already on the machine PATH before the install is still on it after the uninstall" preset_path_kept
set_path "$original_path"
expect "the installer installs silently (/S) into Program Files" install
registered() {
  scheme | grep -qF '"C:\Program Files\Rollbook\rollbook-desktop.exe" "%1"' &&
    regq 'HKLM\Software\Classes\org.rollbook.desktop' /v 'URL Protocol' | grep -q 'URL Protocol'
}
expect "... registers the org.rollbook.desktop: scheme under HKLM\\Software\\Classes" registered
on_path() { machine_path | grep -qF 'C:\Program Files\Rollbook'; }
expect "... puts the install folder on the machine PATH" on_path
from_path() { "$wine64" cmd /c "rollbook --version" 2>>"$log/installed.log" | tr -d '\r' | grep -qx "rollbook [0-9.]*"; }
expect "... and the installed rollbook.exe runs from the PATH (rollbook --version)" from_path
start_menu=$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start\ Menu/Programs
window_installed() {
  cmp -s "$install_dir/rollbook-desktop.exe" "$window_exe" &&
    cmp -s "$install_dir/WebView2Loader.dll" "$loader_dll"
}
expect "... installs the window (rollbook-desktop.exe) and WebView2Loader.dll beside it" window_installed
# A shell link names its target in the link file (as UTF-16 or ANSI; both are read).
shortcut() {
  [ -f "$start_menu/Rollbook.lnk" ] || return 1
  { strings -a "$start_menu/Rollbook.lnk"; strings -a -el "$start_menu/Rollbook.lnk"; } >"$work/shortcut.txt"
  grep -qiF 'C:\Program Files\Rollbook\rollbook-desktop.exe' "$work/shortcut.txt"
}
expect "... and its Start-menu shortcut (all users) to it" shortcut
uninstall
removed() {
  [ ! -e "$install_dir" ] && [ ! -e "$start_menu/Rollbook.lnk" ] && ! scheme >/dev/null && ! machine_path | grep -qF 'Rollbook' &&
    ! regq 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Rollbook' >/dev/null
}
expect "a silent uninstall removes the folder, the shortcut, the scheme, the PATH entry and its own entry" removed
data_kept() { store_left && [ -d "$webview_unix" ]; }
expect "... and keeps the teacher's data and the web view's folder" data_kept
install >/dev/null || true
# Run in place (_?=), so the exit code is the uninstaller's own, not that of the copy
# of it that goes to %TEMP% and is not waited for. NSIS finds " _?=" only unquoted:
# the folder (it has a space) goes as two arguments, which Wine joins with a space.
refused_status=0
"$wine64" "C:\\Program Files\\Rollbook\\uninstall.exe" /S /DELETEAPPDATA '_?=C:\Program' 'Files\Rollbook' \
  >>"$log/installer.log" 2>&1 || refused_status=$?
timeout 60 "${wine64%/*}/wineserver64" -w || true
# Refused, it removes nothing and fails (exit 2, for Intune and Configuration Manager):
# the program stays, so the grade can still be sent or discarded and the uninstall run again.
refused_kept() {
  [ "$refused_status" = 2 ] && [ -f "$install_dir/rollbook.exe" ] &&
    regq 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Rollbook' /v UninstallString >/dev/null &&
    store_left && [ -f "$data_unix/session.json" ] && creds | grep -qv local-store-key
}
expect "uninstall /S /DELETEAPPDATA fails (exit 2) and removes nothing, program, store or session, while a grade waits to be sent" refused_kept
rb logout-unsent logout --discard-unsent >/dev/null 2>&1 || true
install >/dev/null || true
uninstall /DELETEAPPDATA
data_gone() {
  ls -A "$data_unix" >"$work/data-left.txt" 2>/dev/null || true
  ! grep -vqx logs "$work/data-left.txt" && [ ! -e "$webview_unix" ] && [ -z "$(creds)" ] &&
    [ ! -e "$install_dir" ]
}
expect "... and otherwise deletes the data (all but the log folder) and the web view's folder" data_gone

# --- The window starts, up to its web view ------------------------------------------
# Not a run of the window (WebView2 cannot be installed here): every DLL it imports loads,
# WebView2Loader.dll from beside it, and it gets as far as Tauri's setup, which stops
# where the web view needs the WebView2 runtime. Tauri then panics and does not exit, so
# it is ended here. Last in the suite: what the window leaves in the prefix matters to
# no other check.
cp "$window_exe" "$loader_dll" "$bin/"
with_display() { if [ -n "${DISPLAY:-}" ]; then "$@"; else xvfb-run -a "$@"; fi; }
with_display "$wine64" "$bin/rollbook-desktop.exe" >"$log/window.log" 2>&1 &
window_pid=$!
for _ in $(seq 600); do
  grep -q 'Failed to setup app' "$log/window.log" && break
  kill -0 "$window_pid" 2>/dev/null || break
  sleep 0.1
done
"$wine64" taskkill /f /im rollbook-desktop.exe >>"$log/taskkill.log" 2>&1 || true
"${wine64%/*}/wineserver64" -k 2>/dev/null || true
wait "$window_pid" 2>/dev/null || true
window_starts() {
  ! grep -q 'err:module' "$log/window.log" &&
    grep -q 'Failed to setup app: runtime error' "$log/window.log"
}
expect "rollbook-desktop.exe starts under Wine (its DLLs load) and stops at Tauri's setup: no WebView2 here" window_starts

echo "windows: $passed passed, $failed failed in $(( $(date +%s) - started )) s (Wine $("$wine64" --version 2>/dev/null))"
if [ "$failed" -gt 0 ]; then exit 1; fi
