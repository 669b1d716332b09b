#!/usr/bin/env bash
# Installs what CI needs beyond npm, from Debian (.ci/run calls it before `npm ci`):
# - Chromium for the browser tests (playwright-core drives it; Playwright's own browser downloads are not reachable here);
# - the OpenBLAS and LAPACKE headers and libraries, so that `npm ci` builds the optional native engine (native/lapack)
#   whose tests CI requires (without them npm skips that optional package and taskmap computes in JavaScript).
# Idempotent: installs only what is missing, and does nothing when everything is there.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
for pkg in libopenblas-dev liblapacke-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ci-setup: missing ${missing[*]} and this is not root; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ -x /usr/bin/chromium ]; then /usr/bin/chromium --version; fi
echo "ci-setup: installed ${missing[*]}"
