#!/usr/bin/env bash
# Builds Rollbook's Windows executables on Linux for x86_64-pc-windows-gnu (MinGW-w64
# links them; SQLCipher and its vendored OpenSSL are compiled for Windows): rollbook.exe,
# rollbook-gateway.exe, the demo district (rollbook-sandbox.exe) and the test browser
# the Windows suite signs in with. The debug profile: it compiles in about half the time
# of release, and the suite checks behaviour, not speed.
# Prints the folder holding the .exe files on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target=x86_64-pc-windows-gnu
rustup target list --installed 2>/dev/null | grep -qx "$target" ||
  { echo "windows-build: the $target target is missing (scripts/setup.sh adds it)" >&2; exit 2; }
command -v x86_64-w64-mingw32-gcc >/dev/null ||
  { echo "windows-build: x86_64-w64-mingw32-gcc is missing (scripts/setup.sh installs gcc-mingw-w64-x86-64)" >&2; exit 2; }
cargo build --locked --quiet --target "$target" \
  -p rollbook-cli -p rollbook-gateway -p rollbook-sandbox -p rollbook-fake-op --bins
echo "${CARGO_TARGET_DIR:-target}/$target/debug"
