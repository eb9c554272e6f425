#!/usr/bin/env bash
# Install nginx (not started: the tests of several workers run their own, on a free port).
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >/dev/null
    timeout 600 apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
        || timeout 600 apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
