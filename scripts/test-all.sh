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

step "Browser tests (Playwright in Debian's chromium)"
npx playwright test
