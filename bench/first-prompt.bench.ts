/**
 * A lesson opens ready: in Debian's chromium, against the lab the browser tests use
 * (scripts/start.ts with a production build, started through e2e/support/lab-env.ts), a new
 * learner (a fresh browser context) opens a two-terminal lesson N times in two ways:
 * - direct: typing the lesson's URL (navigation start → prompt on screen);
 * - click: clicking the lesson on the course map, whose JavaScript has already loaded
 *   (press → prompt on screen), as a learner does it: the pointer rests on the lesson's card for
 *   HOVER_MS (300) before the press, and the button is held for PRESS_MS (100) (a mouse click's
 *   usual hold);
 * - click-no-hover: the same click as Playwright makes it, moving onto the card and pressing at
 *   once with no hold: nothing the card does on pointing at it has had any time.
 * It prints p50 and max, and where the time went from the page's performance marks
 * (components/connection/first-prompt-marks.ts): HTML (or the page's data, on a click),
 * hydration, socket open, `sandbox:open` answered, `terminal:open` answered, xterm.js loaded,
 * terminal 1's xterm made, prompt painted.
 * "Prompt painted" is the animation frame in which terminal 1 first shows a bash prompt.
 *
 * Targets on a 2-core box: direct p50 ≤ 1.0 s, click p50 ≤ 0.5 s.
 *
 * BENCH_FIRST_PROMPT_RUNS (5) sets N, BENCH_FIRST_PROMPT_LESSON (pid) the lesson,
 * BENCH_FIRST_PROMPT_WAYS (all) which ways, e.g. `click,click-no-hover`;
 * ISOLAB_E2E_PORT moves the lab as for the browser tests, and ISOLAB_E2E_REUSE=1 measures a lab
 * already running there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_LAUNCH_OPTIONS, E2E_BASE_URL, E2E_LAB_COMMAND, E2E_LAB_ENV, E2E_READY_URL } from '../e2e/support/lab-env';
import { sleep } from '../lab-server/test/support/sleep';
import { emitResult, printTable, round, summarize } from './support/stats';

const RUNS = Number(process.env.BENCH_FIRST_PROMPT_RUNS || 5);
const SLUG = process.env.BENCH_FIRST_PROMPT_LESSON || 'pid';
/** Between runs the lab refills its warm pool; let it, so that one run's refill is not the next one's load. */
const SETTLE_MS = 2000;
const TARGET_MS = { direct: 1000, click: 500, 'click-no-hover': 500 } as const;
type Way = keyof typeof TARGET_MS;
const WAYS = (process.env.BENCH_FIRST_PROMPT_WAYS?.split(',') ?? Object.keys(TARGET_MS)).filter((way): way is Way => way in TARGET_MS);
/** How long a learner's pointer rests on a lesson's card before pressing, and holds the button. */
const HOVER_MS = 300;
const PRESS_MS = 100;

/** The steps, in order, as ms since navigation start (direct) or since the click. */
const STEPS = ['html', 'hydrated', 'socket-open', 'sandbox-open', 'terminal-open', 'terminal-code', 'terminal-made', 'prompt'] as const;
type Step = (typeof STEPS)[number];
type Figures = Record<Step, number>;

/**
 * Runs in the page from its first script on: marks the first animation frame in which terminal 1
 * shows a prompt (the same pattern as e2e/support/terminal.ts's PROMPT).
 */
const WATCH_FOR_PROMPT = `(() => {
  const prompt = /root@[\\w-]+:[^\\n]*# ?$/;
  const tick = () => {
    if (prompt.test(window.isolab?.terminalText(0) ?? '')) performance.mark('bench:prompt');
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();`;

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000) })).ok;
  } catch {
    return false;
  }
}

/** Starts the e2e lab (building the web app if its build is stale) and waits until it answers. */
async function startLab(): Promise<{ stop(): Promise<void> }> {
  if (await answers(E2E_READY_URL)) {
    if (process.env.ISOLAB_E2E_REUSE === '1') return { stop: async () => undefined };
    throw new Error(`Something already answers at ${E2E_BASE_URL}: set ISOLAB_E2E_PORT to a free port, or ISOLAB_E2E_REUSE=1 to measure that lab.`);
  }
  const [, ...args] = E2E_LAB_COMMAND;
  // Its output goes to stderr, so stdout carries only the figures.
  const child: ChildProcess = spawn(process.execPath, args, { env: { ...process.env, ...E2E_LAB_ENV }, stdio: ['ignore', 2, 2] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 300_000;
  while (!(await answers(E2E_READY_URL))) {
    if (gone) throw new Error('The lab exited while starting; its output is above.');
    if (Date.now() > deadline) throw new Error(`The lab did not answer at ${E2E_READY_URL} within 300 s.`);
    await sleep(500);
  }
  return {
    async stop() {
      if (gone) return;
      // start.ts closes every sandbox on SIGTERM before it exits.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Reads the figures in the page: each step's first mark after `since` (0: navigation start, or
 * the click), relative to it. A string, because tsx's helpers do not exist in the page.
 */
const READ_FIGURES = `(way, slug) => {
  const at = (name, since) => performance.getEntriesByName(name).find((entry) => entry.startTime >= since)?.startTime;
  const since = way === 'direct' ? 0 : (at('bench:click', 0) ?? NaN);
  const relative = (time) => (time === undefined ? NaN : time - since);
  let html;
  if (way === 'direct') {
    html = performance.getEntriesByType('navigation')[0]?.responseEnd;
  } else {
    // The lesson's server-rendered data (the RSC payload), unless the map had prefetched it; not
    // the other lessons' data, which the map prefetches as their cards come into view.
    const fetched = performance.getEntriesByType('resource').filter((entry) => entry.startTime >= since && entry.name.includes('/lessons/' + slug + '?_rsc='));
    html = fetched.length > 0 ? Math.max(...fetched.map((entry) => entry.responseEnd)) : since;
  }
  return {
    html: relative(html),
    hydrated: relative(at('isolab:hydrated', since)),
    'socket-open': relative(at('isolab:socket-open', since)),
    'sandbox-open': relative(at('isolab:sandbox-open', since)),
    'terminal-open': relative(at('isolab:terminal-open', since)),
    'terminal-code': relative(at('isolab:terminal-code', since)),
    'terminal-made': relative(at('isolab:terminal-made', since)),
    prompt: relative(at('bench:prompt', since)),
  };
}`;

async function readFigures(page: Page, way: Way): Promise<Figures> {
  // NaN does not survive the trip out of the page; a missing step comes back as null.
  const figures = await page.evaluate(`(${READ_FIGURES})(${JSON.stringify(way)}, ${JSON.stringify(SLUG)})`);
  return Object.fromEntries(STEPS.map((step) => [step, Number((figures as Record<Step, number | null>)[step] ?? NaN)])) as Figures;
}

/** One new learner opens the lesson one way; resolves with its figures. */
async function openOnce(browser: Browser, way: Way): Promise<Figures> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    await context.addInitScript(WATCH_FOR_PROMPT);
    const page = await context.newPage();
    if (way === 'direct') {
      await page.goto(`${E2E_BASE_URL}/lessons/${SLUG}`, { waitUntil: 'commit' });
    } else {
      await page.goto(`${E2E_BASE_URL}/`, { waitUntil: 'load' });
      // The map's JavaScript has loaded and run (and prefetched what it prefetches) once the page is idle.
      await page.evaluate('new Promise((resolve) => requestIdleCallback(resolve, { timeout: 5000 }))');
      const link = page.locator(`a[href="/lessons/${SLUG}"]`).first();
      await link.scrollIntoViewIfNeeded();
      await page.evaluate('performance.clearMarks()');
      // The mark is made in the page as the click arrives, so Playwright's own round trips are not counted.
      await page.evaluate(`window.addEventListener('pointerdown', () => performance.mark('bench:click'), { capture: true, once: true })`);
      if (way === 'click') {
        await link.hover();
        await sleep(HOVER_MS);
        await link.click({ delay: PRESS_MS });
      } else {
        await link.click();
      }
    }
    await page.waitForFunction(`performance.getEntriesByName('bench:prompt').length > 0`, undefined, { timeout: 60_000, polling: 100 });
    const figures = await readFigures(page, way);
    // Give the sandbox back now rather than when it idles out.
    await page.evaluate(`(async () => {
      const connection = window.isolab?.connection();
      const sandboxId = connection?.sandboxId;
      if (sandboxId) await connection?.labClient?.request('sandbox:close', { sandboxId }).catch(() => undefined);
    })()`);
    return figures;
  } finally {
    await context.close();
  }
}

const lab = await startLab();
const browser = await chromium.launch(CHROMIUM_LAUNCH_OPTIONS);
const results: Record<string, unknown> = {};
const targets: Record<string, boolean> = {};
const rows: Array<Array<string | number>> = [];
try {
  for (const way of WAYS) {
    // One unmeasured run: the web server's first render of the page and the lab's first spawn.
    await openOnce(browser, way);
    const runs: Figures[] = [];
    for (let run = 0; run < RUNS; run++) {
      await sleep(SETTLE_MS);
      runs.push(await openOnce(browser, way));
    }
    const total = summarize(runs.map((figures) => figures.prompt));
    const steps = Object.fromEntries(STEPS.map((step) => [step, summarize(runs.map((figures) => figures[step]).filter(Number.isFinite)).p50]));
    rows.push([way, total.n, round(total.p50), round(total.max), ...STEPS.map((step) => round(steps[step], 0))]);
    results[way] = { promptMs: { p50: total.p50, max: total.max, min: total.min }, stepsP50Ms: steps, runs };
    targets[`${way.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}P50Under${TARGET_MS[way]}ms`] = total.p50 <= TARGET_MS[way];
  }
} finally {
  await browser.close();
  await lab.stop();
}

printTable(
  `Opening lesson "${SLUG}" as a new learner: ms to the first prompt (steps: p50 ms since navigation start / the press; click: ${HOVER_MS} ms on the card, then a ${PRESS_MS} ms press)`,
  ['way', 'runs', 'p50', 'max', 'HTML', 'hydrated', 'socket', 'sandbox', 'terminal', 'xterm.js', 'xterm made', 'prompt'],
  rows,
);
const load = (await import('node:os')).loadavg().map((value) => round(value));
console.log(`\nLoad average at the end: ${load.join(' ')} (2 cores: anything above 2 means others were running too)`);
console.log(`Targets: ${Object.entries(targets).map(([name, met]) => `${met ? '✓' : '✗'} ${name}`).join('   ')}`);
emitResult({ lesson: SLUG, ...results, loadAverage: load, targets });
