#!/usr/bin/env bash
# Every test Isolab has, in the order that fails fastest: types, unit, real sandboxes, browser.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m▸ %s\033[0m\n' "$*"; }

step "Type checks (protocol without DOM or Node, lab-server without DOM, web app)"
npm run --silent typecheck

step "Unit tests"
npx vitest run --project unit

step "lab-server against real sandboxes"
npx vitest run --project server

# The browser tests' web server would build the app on its first start, inside Playwright's
# start-up timeout; on a busy machine the build alone can take minutes, so it is a step of its
# own here (scripts/start.ts then finds the build up to date).
step "Web app build for the browser tests (.next-e2e/)"
ISOLAB_NEXT_DIST=.next-e2e NEXT_TELEMETRY_DISABLED=1 npx next build

step "Browser tests (Playwright in Debian's chromium)"
npx playwright test

# The hosts most users have: cgroup v2 under Debian 12's own kernel 6.1, in a QEMU VM (no KVM
# needed; root; 15 to 60 minutes). Not yet part of every run: it has not passed reliably on the
# shared 2-core development box (see the README's "Tests"), and a stage that can fail on a busy
# machine would stop CI for everybody.
step "cgroup v2 on Debian 12's kernel 6.1, in a QEMU VM (scripts/test-cgroup-v2.sh)"
if [ "${ISOLAB_V2_STAGE:-0}" = 1 ]; then
  bash scripts/test-cgroup-v2.sh
else
  echo "Skipped: set ISOLAB_V2_STAGE=1 to run it here, or run it alone: sudo bash scripts/test-cgroup-v2.sh"
fi
