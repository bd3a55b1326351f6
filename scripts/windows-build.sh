#!/usr/bin/env bash
# Builds Rollbook's Windows executables on Linux for x86_64-pc-windows-gnu (MinGW-w64
# links them; SQLCipher and its vendored OpenSSL are compiled for Windows): rollbook.exe,
# rollbook-gateway.exe, the demo district (rollbook-sandbox.exe) and the test browser
# the Windows suite signs in with. The debug profile: it compiles in about half the time
# of release, and the suite checks behaviour, not speed.
# --installer also builds the NSIS installer (packaging/windows/rollbook.nsi, with
# Debian's makensis) from tauri.conf.json's settings, into the same folder as
# Rollbook_VERSION_x64-setup.exe: the command only, unless the window's Windows
# executable (rollbook-desktop.exe) is there, which this script does not build (over 5
# minutes more; it cannot run here anyway, no WebView2).
# Prints the folder holding the .exe files on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
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
if [ "${1:-}" = --installer ]; then
  command -v makensis >/dev/null ||
    { echo "windows-build: makensis is missing (scripts/setup.sh installs nsis)" >&2; exit 2; }
  conf() { python3 -c "import json; print(json.load(open('tauri.conf.json'))['$1'])"; }
  product=$(conf productName) version=$(conf version) main=$(conf mainBinaryName)
  setup=$out/${product}_${version}_x64-setup.exe
  inputs=(packaging/windows/rollbook.nsi packaging/windows/installer-hooks.nsh tauri.conf.json "$out/rollbook.exe")
  window=()
  if [ -f "$out/$main.exe" ]; then
    window=("-DWINDOW_EXE=$PWD/$out/$main.exe")
    inputs+=("$out/$main.exe")
  fi
  # Built again only when its script, the configuration or a payload changed.
  if [ ! -f "$setup" ] || [ -n "$(find "${inputs[@]}" -newer "$setup")" ]; then
    makensis -V2 -DFAST_COMPRESSION "-DPRODUCTNAME=$product" "-DVERSION=$version" \
      "-DIDENTIFIER=$(conf identifier)" "-DMAINBINARYNAME=$main" \
      "-DCLI_EXE=$PWD/$out/rollbook.exe" "${window[@]}" "-DOUTFILE=$PWD/$setup" \
      packaging/windows/rollbook.nsi >&2
  fi
fi
echo "$out"
