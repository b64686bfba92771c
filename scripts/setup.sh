#!/usr/bin/env bash
# Installs everything camofleet needs on a Debian 12 machine and builds it:
# Debian's browsers and ffmpeg, the pinned Playwright driver (npm) and the Go
# binary bin/camofleet. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
for pkg in chromium firefox-esr ffmpeg xvfb procps ca-certificates fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v node >/dev/null; then
  echo "setup: Node.js 20 or newer is required (the Playwright driver runs on it); install it and run again" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js $(node --version) is too old; playwright-core 1.64 needs Node.js 20 or newer" >&2
  exit 1
fi
if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
    echo "setup: Go 1.26 or newer is required to build camofleet; install it and run again" >&2
    exit 1
  fi
fi

echo "setup: installing the pinned Playwright driver (driver/)"
npm ci --prefix driver --no-audit --no-fund --loglevel=error >/dev/null

echo "setup: building bin/camofleet"
go build -trimpath -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" \
  -o bin/camofleet ./cmd/camofleet
echo "setup: done"
