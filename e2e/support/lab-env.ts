/**
 * The lab the browser tests run against, and how to start it: `scripts/start.ts` (the same
 * script as `npm start`) on ports, a state directory, a cgroup parent and a build directory of
 * its own. playwright.config.ts and the browser benchmark (bench/first-prompt.bench.ts) both
 * start it from here, so they measure and test the same thing.
 *
 * ISOLAB_E2E_PORT moves the whole lab (web on it, lab-server on it + 1), so two checkouts can
 * run their browser tests at the same time.
 */
export const E2E_WEB_PORT = Number(process.env.ISOLAB_E2E_PORT || 3100);
export const E2E_LAB_PORT = E2E_WEB_PORT + 1;
const E2E_LAB_NAME = E2E_WEB_PORT === 3100 ? 'isolab-e2e' : `isolab-e2e-${E2E_WEB_PORT}`;
/** A fixed instructor token, so the classroom tests can open the dashboard (e2e/classroom.spec.ts). */
export const E2E_INSTRUCTOR_TOKEN = 'e2e-instructor-token-0123456789abcdef';
export const E2E_BASE_URL = `http://127.0.0.1:${E2E_WEB_PORT}`;
/**
 * The same lab as a teacher serves it to a class: Caddy (deploy/Caddyfile) in front, on one
 * HTTPS origin with Caddy's own CA (e2e/one-origin.spec.ts). Its plain-HTTP port, which only
 * redirects, is the next one. Most tests use the direct entrance above.
 */
export const E2E_CADDY_PORT = E2E_WEB_PORT + 10;
export const E2E_CADDY_URL = `https://localhost:${E2E_CADDY_PORT}`;
/** The lab's class record (ISOLAB_PROGRESS_DB) lives here; playwright.config.ts empties it at each start. */
export const E2E_RECORD_DIR = `/tmp/${E2E_LAB_NAME}-record`;

/** The command that starts the lab, run from the checkout's root: `npm start -- --caddy`. */
export const E2E_LAB_COMMAND = ['node', '--import', 'tsx', 'scripts/start.ts', '--caddy'] as const;

/** The web app answers here once the whole lab is up (start.ts waits for lab-server first). */
export const E2E_READY_URL = `${E2E_BASE_URL}/`;

export const E2E_LAB_ENV: Record<string, string> = {
  PORT: String(E2E_WEB_PORT),
  ISOLAB_PORT: String(E2E_LAB_PORT),
  ISOLAB_HOST: '127.0.0.1',
  ISOLAB_PUBLIC_URL: E2E_CADDY_URL,
  // The direct entrance is a second origin of the same lab.
  ISOLAB_ALLOWED_ORIGINS: E2E_BASE_URL,
  ISOLAB_CADDY_HTTP_PORT: String(E2E_CADDY_PORT + 1),
  ISOLAB_CADDY_DATA: `/run/${E2E_LAB_NAME}-caddy`,
  ISOLAB_STATE_DIR: `/run/${E2E_LAB_NAME}`,
  ISOLAB_CGROUP_PARENT: E2E_LAB_NAME,
  ISOLAB_PROGRESS_DB: `${E2E_RECORD_DIR}/progress.db`,
  // The first run builds the web app into .next-e2e/, which takes a minute or two.
  ISOLAB_NEXT_DIST: '.next-e2e',
  ISOLAB_LOG_LEVEL: process.env.ISOLAB_LOG_LEVEL ?? 'warn',
  ISOLAB_INSTRUCTOR_TOKEN: E2E_INSTRUCTOR_TOKEN,
  // A few warm sandboxes: the tests open lessons one or two at a time, and the default pool (16 on
  // a 2-core box, sized for a class opening a lesson at once) would be seconds of runc starts
  // beside the browsers on a busy box, for nothing.
  ISOLAB_WARM_SANDBOXES: '4',
};

/** Playwright cannot download browsers here, so tests and benchmarks drive Debian's chromium. */
export const CHROMIUM_LAUNCH_OPTIONS = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
};
