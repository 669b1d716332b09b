#!/usr/bin/env bash
# Installs Debian's redis-server for the distributed-queue tests (test/queue/), which start their own server on
# 127.0.0.1 on a free port and stop it after. Idempotent: does nothing when redis-server is already on PATH. The
# package's own service is not used (the tests never touch port 6379 or a system instance).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ci-redis: redis-server is missing and this is not root; install it with: sudo apt-get install -y redis-server" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101 keeps the package from starting its system service while installing (nothing listens on 6379).
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
if [ "$had_policy" = 0 ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
trap '[ "$had_policy" = 0 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 || {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}
redis-server --version
