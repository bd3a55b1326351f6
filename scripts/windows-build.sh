#!/usr/bin/env bash
# Builds Rollbook's Windows executables on Linux for x86_64-pc-windows-gnu (MinGW-w64
# links them; SQLCipher and its vendored OpenSSL are compiled for Windows): rollbook.exe,
# rollbook-gateway.exe, the demo district (rollbook-sandbox.exe) and the test browser
# the Windows suite signs in with, and rollbook-owner-only's unit tests. The debug
# profile: it compiles in about half the time of release, and the suite checks
# behaviour, not speed.
# --window also links the window, rollbook-desktop.exe, with WebView2Loader.dll beside
# it (it cannot run here: no WebView2). It embeds the built UI (ui/dist, `npm --prefix ui
# run build`) as a shipped build does, and compiles the window's own crate without debug
# assertions, so it is the shipped program (GUI subsystem, no development-only scheme
# registration) over the same debug dependencies.
# --installer also builds the NSIS installer (packaging/windows/rollbook.nsi, with
# Debian's makensis) from tauri.conf.json's settings, into the same folder as
# Rollbook_VERSION_x64-setup.exe: with the window when --window is given, otherwise the
# command only.
# Prints the folder holding the .exe files on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
window=0 installer=0
for arg; do
  case $arg in
    --window) window=1 ;;
    --installer) installer=1 ;;
    *) echo "windows-build: unknown option $arg (--window, --installer)" >&2; exit 2 ;;
  esac
done
export PATH="$HOME/.cargo/bin:$PATH"
target=x86_64-pc-windows-gnu
rustup target list --installed 2>/dev/null | grep -qx "$target" ||
  { echo "windows-build: the $target target is missing (scripts/setup.sh adds it)" >&2; exit 2; }
command -v x86_64-w64-mingw32-gcc >/dev/null ||
  { echo "windows-build: x86_64-w64-mingw32-gcc is missing (scripts/setup.sh installs gcc-mingw-w64-x86-64)" >&2; exit 2; }
# The package that holds the demo district's binary (rollbook-sandbox), wherever it is.
demo=$(cargo metadata --locked --no-deps --format-version 1 | python3 -c '
import json, sys
print(next(p["name"] for p in json.load(sys.stdin)["packages"]
           if any(t["name"] == "rollbook-sandbox" and "bin" in t["kind"] for t in p["targets"])))')
cargo build --locked --quiet --target "$target" \
  -p rollbook-cli -p rollbook-gateway -p "$demo" -p rollbook-fake-op --bins
out="${CARGO_TARGET_DIR:-target}/$target/debug"
# The unit tests of rollbook-owner-only (the workspace's one unsafe code: file DACLs),
# which the Windows suite runs under Wine, as rollbook-owner-only-tests.exe.
tests_exe=$(cargo test --locked --quiet --target "$target" -p rollbook-owner-only --lib --no-run \
  --message-format=json | python3 -c '
import json, sys
print(next(m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")))')
cp -p "$tests_exe" "$out/rollbook-owner-only-tests.exe"
main=$(python3 -c "import json; print(json.load(open('tauri.conf.json'))['mainBinaryName'])")
if [ "$window" = 1 ]; then
  [ -f ui/dist/index.html ] ||
    { echo "windows-build: ui/dist is missing; the window embeds the built UI (npm --prefix ui run build)" >&2; exit 2; }
  # A build of its own: in one command with the others, the window's features (tokio's,
  # serde's, windows-sys') would unify into theirs and rebuild what they share.
  # tauri-build compiles the icon and version resource with x86_64-w64-mingw32-windres
  # and copies WebView2Loader.dll into $out: MinGW cannot link Microsoft's static loader
  # (an MSVC library), so the GNU build imports the DLL, which must sit beside it.
  cargo build --locked --quiet --target "$target" -p rollbook-desktop --bin "$main" \
    --features custom-protocol --config 'profile.dev.package.rollbook-desktop.debug-assertions=false'
fi
if [ "$installer" = 1 ]; then
  command -v makensis >/dev/null ||
    { echo "windows-build: makensis is missing (scripts/setup.sh installs nsis)" >&2; exit 2; }
  conf() { python3 -c "import json; print(json.load(open('tauri.conf.json'))['$1'])"; }
  product=$(conf productName) version=$(conf version)
  setup=$out/${product}_${version}_x64-setup.exe
  inputs=(packaging/windows/rollbook.nsi packaging/windows/installer-hooks.nsh tauri.conf.json "$out/rollbook.exe")
  with_window=()
  if [ "$window" = 1 ]; then
    with_window=("-DWINDOW_EXE=$PWD/$out/$main.exe" "-DWEBVIEW2_LOADER=$PWD/$out/WebView2Loader.dll")
    inputs+=("$out/$main.exe" "$out/WebView2Loader.dll")
  fi
  # Built again only when its script, the configuration or a payload changed.
  # (The window's presence is an input too: a stamp says which kind was built last.)
  kind=$setup.window-$window
  if [ ! -f "$setup" ] || [ ! -f "$kind" ] || [ -n "$(find "${inputs[@]}" -newer "$setup")" ]; then
    makensis -V2 -DFAST_COMPRESSION "-DPRODUCTNAME=$product" "-DVERSION=$version" \
      "-DIDENTIFIER=$(conf identifier)" "-DMAINBINARYNAME=$main" \
      "-DCLI_EXE=$PWD/$out/rollbook.exe" "${with_window[@]}" "-DOUTFILE=$PWD/$setup" \
      packaging/windows/rollbook.nsi >&2
    rm -f "$setup".window-*
    touch "$kind"
  fi
fi
echo "$out"
