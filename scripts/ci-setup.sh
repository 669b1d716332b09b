#!/usr/bin/env bash
# Installs what the browser tests need beyond npm: Debian's Chromium (playwright-core drives it; Playwright's own
# browser downloads are not reachable here). Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ci-setup: /usr/bin/chromium is missing and this is not root; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
