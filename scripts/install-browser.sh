#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (Playwright drives it via executable_path).
# Idempotent: returns at once when /usr/bin/chromium already runs.
set -euo pipefail

CHROMIUM="${CITEWISE_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser: need root (or sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt does not know chromium yet (fresh image).
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null)"
