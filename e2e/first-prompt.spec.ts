/**
 * A lesson opens ready: the first prompt never waits for anything it does not need.
 * The PID lesson has two terminals and the host-view panel. Between the page and lab-server the
 * tests stand in the socket's way (Playwright's WebSocket routing): they hold back or refuse the
 * second terminal's start, or refuse the observe panel, and the first terminal must still come to
 * a prompt. And the page is real HTML: without JavaScript it shows the lesson and the terminal's
 * frame saying the sandbox is starting.
 */
import { expect, test, type APIResponse, type Page, type WebSocketRoute } from '@playwright/test';
import { PAGE_CODE_MARK, pageCodeChunks } from './support/page-code';
import { PROMPT, pollFor, typeInto } from './support/terminal';

const LESSON = '/lessons/pid';
/**
 * How long the first prompt may take at worst. Each test checks what comes first, never how
 * fast: on a loaded 2-core box, where several labs and browsers share the CPU, a page can take
 * half a minute to open.
 */
const PROMPT_WAIT = { timeout: 90_000 };

test.slow();

/** A socket.io request from the page: `42<ack id>["event",{payload}]`. */
function parseRequest(frame: string | Buffer): { ackId: string; event: string; payload: Record<string, unknown> } | undefined {
  const match = /^42(\d+)(\[.*)$/s.exec(typeof frame === 'string' ? frame : frame.toString());
  if (!match) return undefined;
  const [event, payload] = JSON.parse(match[2]) as [string, Record<string, unknown>];
  return { ackId: match[1], event, payload };
}

/** Answers a request in the page's place of the server, with a refusal as lab-server words them. */
function refuse(route: WebSocketRoute, ackId: string, event: string, message: string): void {
  route.send(`43${ackId}${JSON.stringify([{ ok: false, error: { code: 'INTERNAL', message, event } }])}`);
}

/**
 * Passes the page's socket through to lab-server, except the requests `intercept` takes (it
 * returns true for those it handled itself).
 */
async function standInTheWay(page: Page, intercept: (request: NonNullable<ReturnType<typeof parseRequest>>, route: WebSocketRoute, frame: string | Buffer, server: WebSocketRoute) => boolean) {
  await page.routeWebSocket(/\/socket\.io\//, (route) => {
    const server = route.connectToServer();
    route.onMessage((frame) => {
      const request = parseRequest(frame);
      if (request && intercept(request, route, frame, server)) return;
      server.send(frame);
    });
  });
}

const isNewShell = (request: { event: string; payload: Record<string, unknown> }) => request.event === 'terminal:open' && !request.payload.terminalId;

test('the first prompt comes while the second terminal’s start is held back, and the second follows', async ({ page }) => {
  const heldBack: Array<() => void> = [];
  await standInTheWay(page, (request, _route, frame, server) => {
    if (!isNewShell(request)) return false;
    heldBack.push(() => server.send(frame));
    return true;
  });
  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  // Terminal 2 asks once terminal 1 is on screen, possibly a moment after its prompt showed.
  await expect.poll(() => heldBack.length, { message: 'the second terminal asked for its shell', ...PROMPT_WAIT }).toBe(1);
  await expect(page.getByTestId('terminal-2')).not.toHaveAttribute('data-phase', 'live');

  for (const send of heldBack) send();
  await pollFor(page, PROMPT, { slot: 1, ...PROMPT_WAIT });
});

test('the first prompt comes when the second terminal cannot start, and the second says why', async ({ page }) => {
  await standInTheWay(page, (request, route) => {
    if (!isNewShell(request)) return false;
    refuse(route, request.ackId, request.event, 'The second shell could not start (refused by the test).');
    return true;
  });
  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  await expect(page.getByTestId('terminal-2')).toContainText('The second shell could not start (refused by the test).', PROMPT_WAIT);
});

test('a failed observe panel never blocks the terminal', async ({ page }) => {
  await standInTheWay(page, (request, route) => {
    if (request.event !== 'observe:subscribe') return false;
    refuse(route, request.ackId, request.event, 'The host view is not available (refused by the test).');
    return true;
  });
  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  await expect(page.locator('[data-observe-panel]').getByRole('alert')).toContainText('The host view is not available (refused by the test).', PROMPT_WAIT);
  // The terminal is still the learner's: it runs what they type.
  await page.getByTestId('terminal-1').click();
  await page.keyboard.type('echo still-$((40+2))');
  await page.keyboard.press('Enter');
  await pollFor(page, 'still-42', { slot: 0, ...PROMPT_WAIT });
});

/**
 * From now on, holds back every JavaScript chunk whose code contains `mark` until `until`
 * settles; `count` says how many were held.
 */
async function holdChunksWith(page: Page, mark: string, until: Promise<void>): Promise<{ count: number }> {
  const held = { count: 0 };
  await routeChunks(page, async (body) => {
    if (body.includes(mark)) {
      held.count++;
      await until;
    }
  });
  return held;
}

/**
 * Passes the page's script chunks through `hold`, which reads each one and may hold it back.
 * A chunk's request can end before its handler has read it: the browser gave it up, or the test
 * is over and its page is closing (a chunk asked for late, such as terminal 2's or the observe
 * panel's, on a busy machine). Playwright then disposes the response, and that chunk is nobody's
 * any more, so it is let go; had the page still needed it, its prompt would not come, and the test
 * says so. (The afterEach below stops routing before the page closes.)
 */
async function routeChunks(page: Page, hold: (body: string, path: string) => Promise<void> | void): Promise<void> {
  await page.route(/\/_next\/static\/chunks\/[\w.-]+\.js$/, async (route) => {
    let fetched: { response: APIResponse; body: string };
    try {
      const response = await route.fetch();
      fetched = { response, body: await response.text() };
    } catch {
      await route.abort().catch(() => undefined);
      return;
    }
    await hold(fetched.body, new URL(route.request().url()).pathname);
    await route.fulfill(fetched).catch(() => undefined);
  });
}

test.afterEach(async ({ page }) => {
  await page.unrouteAll({ behavior: 'ignoreErrors' });
});

/**
 * Watches the page: its requests to /api/lab-config (none, when the lab's address came with the
 * page), and every socket it opens to lab-server: the requests each carried, how many were open
 * at once at most, and when the sandbox was first asked for.
 */
async function watchTheWayToTheLab(page: Page) {
  let askedForSandbox!: () => void;
  let attachedTerminal!: () => void;
  const watched = {
    askedForLabAddress: [] as string[],
    sockets: [] as string[][],
    /** The terminals attached to (`terminal:open` with a terminalId; a new shell has none). */
    attached: [] as unknown[],
    mostOpen: 0,
    sandboxAsked: new Promise<void>((resolve) => (askedForSandbox = resolve)),
    terminalAttached: new Promise<void>((resolve) => (attachedTerminal = resolve)),
  };
  page.on('request', (sent) => {
    if (new URL(sent.url()).pathname === '/api/lab-config') watched.askedForLabAddress.push(sent.url());
  });
  let open = 0;
  await page.routeWebSocket(/\/socket\.io\//, (route) => {
    const server = route.connectToServer();
    const requests: string[] = [];
    watched.sockets.push(requests);
    watched.mostOpen = Math.max(watched.mostOpen, ++open);
    route.onClose(() => open--);
    route.onMessage((frame) => {
      const request = parseRequest(frame);
      if (request?.event === 'sandbox:open') askedForSandbox();
      if (request?.event === 'terminal:open' && request.payload.terminalId) {
        watched.attached.push(request.payload.terminalId);
        attachedTerminal();
      }
      if (request) requests.push(request.event);
      server.send(frame);
    });
  });
  return watched;
}

/** Holds back the scripts `which` picks until `until` settles; counts them. */
async function holdScriptsUntil(page: Page, which: (url: URL) => boolean, until: Promise<void>): Promise<{ count: number }> {
  const held = { count: 0 };
  await page.route(which, async (route) => {
    held.count++;
    await until;
    await route.continue();
  });
  return held;
}

test('opened by its address, a lesson asks for its sandbox before its own code has loaded, and the page carries on over that socket', async ({ page, request }) => {
  const pageCode = await pageCodeChunks(request, LESSON);
  expect(pageCode.size, 'the lesson page’s own code is in the scripts its HTML lists').toBeGreaterThan(0);
  const lab = await watchTheWayToTheLab(page);
  // The page's own code is held back until the sandbox was asked for: without an early start
  // that never happens, and no prompt comes.
  const held = await holdScriptsUntil(page, (url) => pageCode.has(url.pathname), lab.sandboxAsked);

  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  expect(held.count, 'the lesson page’s code was held back').toBeGreaterThan(0);
  // The page took the early socket over rather than opening one of its own (a second session).
  expect(lab.mostOpen).toBe(1);
  expect(lab.sockets[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
  expect(lab.sockets.flat()).toContain('terminal:open');
  // The lab's address came with the page (a cookie): no round trip to ask for it first.
  expect(lab.askedForLabAddress).toEqual([]);
});

test('opened by its address, a lesson asks for its sandbox and attaches terminal 1 before any of Next’s scripts has run (its head start), and the page carries on over that socket', async ({ page }) => {
  const lab = await watchTheWayToTheLab(page);
  // Every one of Next's scripts, the early connection's included, is held back until terminal 1
  // was attached: only the page's head start (/lesson-head-start.js) can ask for the sandbox and
  // then attach its terminal, or no prompt comes.
  const held = await holdScriptsUntil(page, (url) => url.pathname.startsWith('/_next/static/chunks/') && url.pathname.endsWith('.js'), lab.terminalAttached);

  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  expect(held.count, 'Next’s scripts were held back').toBeGreaterThan(0);
  // The page took that socket and that terminal over: one socket, one sandbox, one attach of terminal 1, and it types.
  expect(lab.mostOpen).toBe(1);
  expect(lab.sockets).toHaveLength(1);
  expect(lab.sockets[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
  expect(lab.attached).toHaveLength(1);
  await typeInto(page, 0, 'echo head-$((40+2))');
  await pollFor(page, /^head-42$/m, { slot: 0, ...PROMPT_WAIT });
  expect(lab.attached).toHaveLength(1);
  expect(lab.askedForLabAddress).toEqual([]);
});

test('clicked on the course map, a lesson asks for its sandbox before its page’s code has loaded, and the page carries on over that socket', async ({ page }) => {
  const lab = await watchTheWayToTheLab(page);
  await page.goto('/', { waitUntil: 'load' });

  // From now on, the chunk with the lesson page's own code is held back until the sandbox was
  // asked for: if only the lesson page could ask, neither would ever come, and no prompt either.
  const held = await holdChunksWith(page, PAGE_CODE_MARK, lab.sandboxAsked);
  await page.getByTestId('lesson-card').and(page.locator(`a[href="${LESSON}"]`)).click();
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  expect(held.count, 'the lesson page’s code was held back').toBeGreaterThan(0);
  // One socket asked for the sandbox, once, and the page's terminals came over it.
  const withSandbox = lab.sockets.filter((requests) => requests.includes('sandbox:open'));
  expect(withSandbox).toHaveLength(1);
  expect(withSandbox[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
  expect(withSandbox[0]).toContain('terminal:open');
  expect(lab.askedForLabAddress).toEqual([]);
});

/** What marks xterm.js in the built JavaScript: the class of the element it takes keys from. */
const XTERM_MARK = 'xterm-helper-textarea';

test('opened by its address, a lesson starts loading the terminal’s code before its own code has loaded', async ({ page, request }) => {
  const pageCode = await pageCodeChunks(request, LESSON);
  expect(pageCode.size, 'the lesson page’s own code is in the scripts its HTML lists').toBeGreaterThan(0);
  let xtermAsked!: () => void;
  const xtermRequested = new Promise<void>((resolve) => (xtermAsked = resolve));
  // The page's own code is held back until xterm.js was asked for: if only the page's terminal
  // asked for it, neither would ever come, and no prompt either. Which chunk is xterm.js's is
  // known by its content only, so every chunk goes through here.
  let held = 0;
  await routeChunks(page, async (body, path) => {
    if (body.includes(XTERM_MARK)) xtermAsked();
    if (pageCode.has(path)) {
      held++;
      await xtermRequested;
    }
  });
  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  expect(held, 'the lesson page’s code was held back').toBeGreaterThan(0);
});

test('terminal 1 opens while the terminal’s code is still loading, and shows its screen at the pane’s size once it has loaded', async ({ page }) => {
  let answered!: () => void;
  const terminalAnswered = new Promise<void>((resolve) => (answered = resolve));
  /** Per socket, its `terminal:open` requests for a terminal that exists (terminal 1's run shell). */
  const attaches: Array<Array<Record<string, unknown>>> = [];
  await page.routeWebSocket(/\/socket\.io\//, (route) => {
    const server = route.connectToServer();
    const asked = new Set<string>();
    const mine: Array<Record<string, unknown>> = [];
    attaches.push(mine);
    route.onMessage((frame) => {
      const request = parseRequest(frame);
      if (request?.event === 'terminal:open' && request.payload.terminalId) {
        mine.push(request.payload);
        asked.add(request.ackId);
      }
      server.send(frame);
    });
    server.onMessage((frame) => {
      // lab-server's answer: `43<ack id>[...]`.
      const ack = /^43(\d+)\[/.exec(typeof frame === 'string' ? frame : frame.toString());
      if (ack && asked.has(ack[1])) answered();
      route.send(frame);
    });
  });
  // xterm.js is held back until lab-server has answered terminal 1's `terminal:open`: if the
  // page waited for xterm.js to ask, neither would ever come, and no prompt either.
  const held = await holdChunksWith(page, XTERM_MARK, terminalAnswered);

  await page.goto(LESSON, { waitUntil: 'commit' });
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  expect(held.count, 'the terminal’s code was held back').toBeGreaterThan(0);
  // Terminal 1 took that open over when it loaded, rather than asking again on the same socket.
  // Which socket: on a starved box the first handshake can miss its deadline and the page connects
  // again (lab-connection.ts), so the open is on the socket the page ended up with, the last one.
  expect(attaches.at(-1)).toHaveLength(1);
  for (const mine of attaches) expect(mine.length).toBeLessThanOrEqual(1);

  // The shell has the size the learner sees (the pty was resized once xterm.js measured the
  // pane). The pane can still change size while the page settles, so a reading counts when the
  // size was the same before and after it.
  for (let attempt = 1; ; attempt++) {
    const before = await page.evaluate(() => window.isolab!.size(0)!);
    await typeInto(page, 0, `echo size-${attempt}:$(stty size)`);
    const text = await pollFor(page, new RegExp(`^size-${attempt}:\\d+ \\d+$`, 'm'), { slot: 0, ...PROMPT_WAIT });
    const after = await page.evaluate(() => window.isolab!.size(0)!);
    if ((before.cols !== after.cols || before.rows !== after.rows) && attempt < 5) continue;
    expect(text).toMatch(new RegExp(`^size-${attempt}:${after.rows} ${after.cols}$`, 'm'));
    break;
  }
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the lesson’s text is on the page, and the terminal’s frame says the sandbox is starting', async ({ page }) => {
    await page.goto(LESSON);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('PID namespaces');
    await expect(page.getByText('unshare', { exact: false }).first()).toBeVisible();
    await expect(page.getByTestId('terminal-1')).toBeVisible();
    const overlay = page.getByTestId('terminal-overlay');
    await expect(overlay).toHaveAttribute('data-state', 'connecting');
    await expect(overlay).toContainText('Starting your sandbox');
  });
});
