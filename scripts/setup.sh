#!/usr/bin/env bash
# Installs everything Isolab needs on a Debian 12 machine, as root. Idempotent: each step is
# skipped when it is already done, so `npm start` and `npm test` can always run it first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m▸ %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "✗ Isolab's setup needs root: it installs packages and builds a container rootfs. Run: sudo npm start" >&2
  exit 1
fi

# runc runs the sandboxes, debootstrap builds their rootfs, chromium runs the browser tests (with
# its recommended packages, fonts-liberation among them, so pages render as they do for learners),
# caddy serves the lab on one HTTPS origin (`npm start -- --caddy`, deploy/Caddyfile); redis-server
# and haproxy carry a class over several lab nodes (`npm run cluster`, README "More than one machine").
# libjemalloc2 is lab-server's allocator (lab-server/src/launch.ts: it keeps its memory flat).
APT_PACKAGES=(runc debootstrap chromium fonts-liberation caddy redis-server haproxy libjemalloc2)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian starts its own Caddy on port 80 with a placeholder site; Isolab runs Caddy itself.
  # The same for Redis (port 6379) and HAProxy: `npm run cluster` starts its own, on its own ports.
  if [ -d /run/systemd/system ]; then
    for service in caddy redis-server haproxy; do
      [[ " ${missing[*]} " == *" $service "* ]] && { systemctl disable --now "$service.service" >/dev/null 2>&1 || true; }
    done
  fi
fi

# npm ci when node_modules is missing or older than the lockfile. package.json's allowScripts
# lets node-pty and better-sqlite3 build their native addons (npm 11 blocks install scripts
# otherwise). better-sqlite3's prebuilt download is from GitHub; without it, it compiles SQLite
# from source (a few minutes, once).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "Installing npm packages"
  npm ci --no-audit --no-fund
fi
if [ ! -f node_modules/node-pty/build/Release/pty.node ]; then
  step "Building node-pty's native addon"
  npm rebuild node-pty
fi
if [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  step "Building better-sqlite3's native addon (the class record)"
  npm rebuild better-sqlite3
fi

step "Checking the sandbox rootfs"
npx tsx lab-server/src/rootfs/build-rootfs.ts
