#!/usr/bin/env bash
# Builds Rollbook's installers for this platform with the `rollbook` command inside:
#   scripts/bundle.sh [--debug] [--target TRIPLE] [BUNDLE…]     (default bundles: this
#   platform's, from tauri.conf.json; e.g. `deb appimage`, `msi nsis`, `dmg`)
# The CLI is built first, in the same profile, and staged as binaries/rollbook-TRIPLE,
# where Tauri's externalBin (packaging/bundle-cli.json, merged with --config) picks it
# up: /usr/bin/rollbook in the .deb, the install folder on Windows, Contents/MacOS on
# macOS. It is not in tauri.conf.json because tauri-build copies external binaries at
# every cargo build, and a plain build has no staged CLI. The lab settings for Windows
# (per-machine install, WebView2's offline installer inside, no downgrades) and macOS
# (minimum version) are in tauri.conf.json. Output:
# target/{debug,release}/bundle/ (or target/TRIPLE/… with --target).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release debug=() target=() bundles=()
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) profile=debug debug=(--debug); shift ;;
    --target) target=(--target "$2"); triple=$2; shift 2 ;;
    -*) echo "usage: $0 [--debug] [--target TRIPLE] [BUNDLE…]" >&2; exit 2 ;;
    *) bundles+=("$1"); shift ;;
  esac
done
triple=${triple:-$(rustc -vV | sed -n 's/^host: //p')}
cargo_profile=(--release); [ "$profile" = debug ] && cargo_profile=()
exe=; case "$triple" in *windows*) exe=.exe ;; esac
mkdir -p binaries
if [ "$triple" = universal-apple-darwin ]; then
  # One command for both Mac architectures, as the universal app is.
  for arch in aarch64-apple-darwin x86_64-apple-darwin; do
    cargo build --locked "${cargo_profile[@]}" --target "$arch" -p rollbook-cli --bin rollbook
  done
  lipo -create -output binaries/rollbook-universal-apple-darwin \
    "target/aarch64-apple-darwin/$profile/rollbook" "target/x86_64-apple-darwin/$profile/rollbook"
else
  cargo build --locked "${cargo_profile[@]}" "${target[@]}" -p rollbook-cli --bin rollbook
  out=target; [ ${#target[@]} -gt 0 ] && out=target/$triple
  cp "$out/$profile/rollbook$exe" "binaries/rollbook-$triple$exe"
fi

config=(--config packaging/bundle-cli.json)
# The release workflow's signing overlay (bundle.windows.signCommand), when it has one.
[ -n "${ROLLBOOK_BUNDLE_CONFIG:-}" ] && config+=(--config "$ROLLBOOK_BUNDLE_CONFIG")
bundle_args=(); [ ${#bundles[@]} -gt 0 ] && bundle_args=(--bundles "$(IFS=,; echo "${bundles[*]}")")
ui/node_modules/.bin/tauri build "${debug[@]}" "${target[@]}" "${config[@]}" "${bundle_args[@]}" --ci
