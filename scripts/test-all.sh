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
