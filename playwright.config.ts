/**
 * Browser tests against the real thing: `scripts/start.ts --caddy` (the same script as `npm
 * start -- --caddy`) builds the web app if needed and runs it with a real lab-server and Caddy
 * in front (e2e/support/lab-env.ts), on ports, a state directory,
 * a cgroup parent and a build directory of their own, so the tests never touch a lab a
 * developer runs on 3000/3001. lab-server needs root; the tests run as root.
 *
 * Playwright cannot download browsers here, so it drives Debian's chromium.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_LAUNCH_OPTIONS, E2E_BASE_URL, E2E_CADDY_URL, E2E_INSTRUCTOR_TOKEN, E2E_LAB_COMMAND, E2E_LAB_ENV, E2E_RECORD_DIR } from './e2e/support/lab-env';

export { E2E_INSTRUCTOR_TOKEN };

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
    baseURL: E2E_BASE_URL,
    browserName: 'chromium',
    launchOptions: CHROMIUM_LAUNCH_OPTIONS,
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
    // Every run starts with an empty class record.
    command: `rm -rf ${E2E_RECORD_DIR} && ${E2E_LAB_COMMAND.join(' ')}`,
    // Caddy starts last, once the web app and lab-server answer: the lab is ready when it does.
    url: `${E2E_CADDY_URL}/`,
    ignoreHTTPSErrors: true,
    // The first run builds the web app into .next-e2e/, which takes a minute or two.
    timeout: 300_000,
    // ISOLAB_E2E_REUSE=1 runs against a lab you started yourself on these ports (handy while editing).
    reuseExistingServer: process.env.ISOLAB_E2E_REUSE === '1',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    stdout: 'pipe',
    stderr: 'pipe',
    env: E2E_LAB_ENV,
  },
});
