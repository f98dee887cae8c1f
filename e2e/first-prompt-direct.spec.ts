/**
 * A lesson opened by its address shows its prompt before the page has hydrated: the early
 * connection (instrumentation-client.ts) attaches terminal 1 and, once xterm.js is in, puts it on
 * screen in the server-rendered pane (components/terminal/early-screen.ts). The page, when it
 * hydrates, adopts that terminal. The tests hold the chunks with the lesson page's own code back,
 * so the page cannot hydrate until they let it: the prompt has to come, and take typing, first;
 * then the page hydrates around the same terminal, which keeps its screen and its input.
 */
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { pageCodeChunks } from './support/page-code';
import { PROMPT, pollFor, terminalText, typeInto } from './support/terminal';

/** A lesson with one terminal. */
const LESSON = '/lessons/namespaces';
/** Each wait checks what comes, never how fast: on a loaded 2-core box a page can take half a minute to open. */
const WAIT = { timeout: 90_000 };

test.slow();

/** Holds the lesson page's own code back until `release()`; `held` counts the requests held. */
async function holdPageCode(page: Page, request: APIRequestContext) {
  const pageCode = await pageCodeChunks(request, LESSON);
  expect(pageCode.size, 'the lesson page’s own code is in the scripts its HTML lists').toBeGreaterThan(0);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const hold = { held: 0, release, chunks: pageCode };
  await page.route(
    (url) => pageCode.has(url.pathname),
    async (route) => {
      hold.held++;
      await released;
      await route.continue().catch(() => undefined);
    },
  );
  return hold;
}

const hydrated = (page: Page) => page.evaluate(() => performance.getEntriesByName('isolab:hydrated').length > 0);

/** React's hydration errors, as the production build reports them (minified, by number) or in words. */
const HYDRATION_ERROR = /hydrat|react\.dev\/errors\/(418|419|421|422|423|425)|Minified React error #(418|419|421|422|423|425)/i;

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`${error.message}\n${error.stack ?? ''}`));
  return errors;
}

test.afterEach(async ({ page }) => {
  await page.unrouteAll({ behavior: 'ignoreErrors' });
});

test('opened by its address, the prompt is on screen and takes typing before the page has hydrated; hydrated, the page keeps that same terminal', async ({ page, request }) => {
  const errors = watchErrors(page);
  const hold = await holdPageCode(page, request);
  /** Per socket, its `terminal:open` requests. */
  const opens: string[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (route) => {
    const server = route.connectToServer();
    route.onMessage((frame) => {
      if (/^42\d*\["terminal:open"/.test(typeof frame === 'string' ? frame : frame.toString())) opens.push(String(frame));
      server.send(frame);
    });
  });

  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...WAIT });
  expect(hold.held, 'the lesson page’s code was held back').toBeGreaterThan(0);
  expect(await hydrated(page), 'the page has not hydrated').toBe(false);
  // On screen: the server-rendered "Starting your sandbox" overlay no longer covers it.
  const terminal = page.getByTestId('terminal-1');
  await expect(terminal.locator('.xterm')).toBeVisible();
  await expect(page.getByTestId('terminal-overlay')).toBeHidden();

  // The learner types, and the shell answers, still before hydration. The command keeps printing
  // while the page hydrates: none of its output may be lost or shown twice.
  await typeInto(page, 0, 'echo early-$((40+2)); for i in 1 2 3 4 5 6; do echo tick-$i; sleep 0.4; done; echo done-$((6*7))');
  await pollFor(page, /^early-42$/m, { slot: 0, ...WAIT });
  expect(await hydrated(page), 'the page has not hydrated').toBe(false);
  // The xterm made before hydration, marked so that it is known again after.
  await terminal.locator('.xterm').evaluate((element) => element.setAttribute('data-test-early', ''));

  hold.release();
  await expect.poll(() => hydrated(page), { message: 'the page hydrates', ...WAIT }).toBe(true);
  await expect(page.getByTestId('terminal-status')).toHaveAttribute('data-state', 'live', WAIT);
  await expect(terminal).toHaveAttribute('data-phase', 'live', WAIT);
  const text = await pollFor(page, /^done-42$/m, { slot: 0, ...WAIT });
  expect(text.match(/^tick-\d$/gm)).toEqual(['tick-1', 'tick-2', 'tick-3', 'tick-4', 'tick-5', 'tick-6']);

  // The same xterm, the only one, still taking typing.
  await expect(terminal.locator('.xterm')).toHaveCount(1);
  await expect(terminal.locator('.xterm[data-test-early]')).toHaveCount(1);
  await typeInto(page, 0, 'echo after-$((40+2))');
  await pollFor(page, /^after-42$/m, { slot: 0, ...WAIT });
  expect((await terminalText(page, 0)).match(/^early-42$/gm)).toHaveLength(1);
  // Terminal 1 was opened once: the page did not attach it again.
  expect(opens).toHaveLength(1);
  expect(errors.filter((error) => HYDRATION_ERROR.test(error))).toEqual([]);
});

test('opened by its address, the lesson’s own controls work on the terminal that came before hydration', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...WAIT });
  await expect.poll(() => hydrated(page), { message: 'the page hydrates', ...WAIT }).toBe(true);
  await expect(page.getByTestId('terminal-status')).toHaveAttribute('data-state', 'live', WAIT);

  // Font size: the learner's control resizes the terminal (and so its pty).
  const before = (await page.evaluate(() => window.isolab!.size(0)))!;
  await page.getByRole('button', { name: 'Larger text' }).click();
  await page.getByRole('button', { name: 'Larger text' }).click();
  await expect.poll(async () => (await page.evaluate(() => window.isolab!.size(0)))!.cols, WAIT).toBeLessThan(before.cols);

  // Restart: a fresh sandbox comes to a prompt in the same terminal.
  await typeInto(page, 0, 'touch /root/old-sandbox && echo marked-$((40+2))');
  await pollFor(page, /^marked-42$/m, { slot: 0, ...WAIT });
  const hostname = page.getByTestId('sandbox-hostname');
  const oldHostname = (await hostname.textContent()) ?? '';
  await page.getByRole('button', { name: 'Restart sandbox' }).click();
  await page.getByRole('group', { name: 'Confirm sandbox restart' }).getByRole('button', { name: 'Restart' }).click();
  await expect
    .poll(async () => (await hostname.allTextContents()).some((text) => text !== oldHostname), { message: 'a fresh sandbox', ...WAIT })
    .toBe(true);
  await expect(page.getByTestId('terminal-status')).toHaveAttribute('data-state', 'live', WAIT);
  await pollFor(page, PROMPT, { slot: 0, ...WAIT });
  await typeInto(page, 0, 'ls /root/old-sandbox 2>/dev/null || echo fresh-$((40+2))');
  await pollFor(page, /^fresh-42$/m, { slot: 0, ...WAIT });
  await expect(page.getByTestId('terminal-1').locator('.xterm')).toHaveCount(1);
  expect(errors.filter((error) => HYDRATION_ERROR.test(error))).toEqual([]);
});

test('opened by its address, the terminal’s code is asked for with the page’s own, each file once; the course map is sent none of it', async ({ page, request }) => {
  const hold = await holdPageCode(page, request);
  /** The scripts' requests and arrivals, in order, and how often each was asked for. */
  const events: string[] = [];
  const asked = new Map<string, number>();
  const scriptPath = (url: string) => {
    const { pathname } = new URL(url);
    return pathname.endsWith('.js') ? pathname : undefined;
  };
  page.on('request', (request) => {
    const path = scriptPath(request.url());
    if (!path) return;
    events.push(`asked ${path}`);
    asked.set(path, (asked.get(path) ?? 0) + 1);
  });
  page.on('requestfinished', (request) => {
    const path = scriptPath(request.url());
    if (path) events.push(`arrived ${path}`);
  });

  const response = await page.goto(LESSON, { waitUntil: 'commit' });
  const preloaded = [...(response?.headers().link ?? '').matchAll(/<([^>]+)>; rel=preload; as=script/g)].map(([, path]) => path);
  expect(preloaded.length, 'the page comes with preloads of scripts').toBeGreaterThan(0);
  // Terminal 1 comes on screen without the page's own code: all it needed was Next's entry chunks and what they import.
  await pollFor(page, PROMPT, { slot: 0, ...WAIT });
  expect(await hydrated(page), 'the page has not hydrated').toBe(false);
  const listed = await page.evaluate(() => [...document.querySelectorAll('script[src], link[rel=preload][as=script]')].map((element) => element.getAttribute('src') ?? element.getAttribute('href') ?? ''));
  const html = await (await request.get(LESSON)).text();
  const entryChunks = listed.filter((path) => html.includes(`"${path}"`) && !hold.chunks.has(path));
  const imported = listed.filter((path) => path.startsWith('/_next/') && !html.includes(`"${path}"`));
  expect(imported.length, 'the entry chunks imported the terminal’s code').toBeGreaterThan(0);
  // Each was preloaded, and asked for before the entry chunks had all arrived (not after they ran)...
  const lastEntryArrival = Math.max(...entryChunks.map((path) => events.indexOf(`arrived ${path}`)));
  for (const path of imported) {
    expect(preloaded, `${path} is preloaded`).toContain(path);
    expect(events.indexOf(`asked ${path}`), `${path} asked for before the entry chunks arrived`).toBeLessThan(lastEntryArrival);
  }
  // ...and nothing preloaded is left unused.
  for (const path of preloaded) expect(listed, `${path} is run`).toContain(path);

  hold.release();
  await expect.poll(() => hydrated(page), { message: 'the page hydrates', ...WAIT }).toBe(true);
  await expect(page.getByTestId('terminal-status')).toHaveAttribute('data-state', 'live', WAIT);
  // The page's scripts took the preloaded files: none was fetched twice.
  expect([...asked].filter(([, times]) => times > 1)).toEqual([]);

  // The course map, which loads the terminal's code only when idle, is sent no preload.
  const map = await page.goto('/');
  expect(map?.headers().link ?? '').not.toMatch(/rel=preload; as=script/);
});
