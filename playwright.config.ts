/**
 * Browser tests against the real thing: `scripts/start.ts` (the same script as `npm start`)
 * builds the web app if needed and runs it with a real lab-server, on ports, a state directory,
 * a cgroup parent and a build directory of their own, so the tests never touch a lab a
 * developer runs on 3000/3001. lab-server needs root; the tests run as root.
 *
 * Playwright cannot download browsers here, so it drives Debian's chromium.
 */
import { defineConfig } from '@playwright/test';

/**
 * ISOLAB_E2E_PORT moves the whole e2e lab (web on it, lab-server on it + 1, its own state
 * directory and cgroup parent), so two checkouts can run their browser tests at the same time.
 */
export const E2E_WEB_PORT = Number(process.env.ISOLAB_E2E_PORT || 3100);
export const E2E_LAB_PORT = E2E_WEB_PORT + 1;
const E2E_LAB_NAME = E2E_WEB_PORT === 3100 ? 'isolab-e2e' : `isolab-e2e-${E2E_WEB_PORT}`;
/** A fixed instructor token, so the classroom tests can open the dashboard (e2e/classroom.spec.ts). */
export const E2E_INSTRUCTOR_TOKEN = 'e2e-instructor-token-0123456789abcdef';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // Two cores: two browsers at a time, each test with its own context and so its own session.
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${E2E_WEB_PORT}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    },
    viewport: { width: 1440, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    // Everything that can share one lab with other tests running at the same time.
    { name: 'lab', grepInvert: /@whole-lab/ },
    // Tests that act on the whole lab (closing it to new learners, ending every sandbox) would
    // break tests running beside them, so they run on their own, after all the others.
    { name: 'whole-lab', grep: /@whole-lab/, dependencies: ['lab'] },
  ],
  webServer: {
    command: 'node --import tsx scripts/start.ts',
    url: `http://127.0.0.1:${E2E_WEB_PORT}/api/lab-config`,
    // The first run builds the web app into .next-e2e/, which takes a minute or two.
    timeout: 300_000,
    // ISOLAB_E2E_REUSE=1 runs against a lab you started yourself on these ports (handy while editing).
    reuseExistingServer: process.env.ISOLAB_E2E_REUSE === '1',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      PORT: String(E2E_WEB_PORT),
      ISOLAB_PORT: String(E2E_LAB_PORT),
      ISOLAB_HOST: '127.0.0.1',
      ISOLAB_PUBLIC_URL: `http://127.0.0.1:${E2E_WEB_PORT}`,
      ISOLAB_STATE_DIR: `/run/${E2E_LAB_NAME}`,
      ISOLAB_CGROUP_PARENT: E2E_LAB_NAME,
      ISOLAB_NEXT_DIST: '.next-e2e',
      ISOLAB_LOG_LEVEL: process.env.ISOLAB_LOG_LEVEL ?? 'warn',
      ISOLAB_INSTRUCTOR_TOKEN: E2E_INSTRUCTOR_TOKEN,
    },
  },
});
