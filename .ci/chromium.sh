#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (Playwright drives it; it cannot download one).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >/dev/null
    timeout 900 apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi
chromium --version
