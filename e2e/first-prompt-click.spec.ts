/**
 * A lesson picked on the course map gets ready as the learner reaches for it
 * (components/connection/lesson-warmup.ts): the map, left alone, loads the terminal's code; a
 * press on a lesson connects to the lab; the click asks for the sandbox. A press that ends
 * anywhere but on the lesson starts no sandbox and closes its connection.
 * The tests stand between the page and lab-server (Playwright's WebSocket routing) and look at
 * what each socket carried; they check what comes first, never how fast.
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { PROMPT, pollFor } from './support/terminal';

const LESSON = '/lessons/pid';
/** A loaded 2-core box can take half a minute to open a page; each test waits for what comes, never for a time. */
const PROMPT_WAIT = { timeout: 90_000 };
const POLL = { timeout: 60_000 };

test.slow();

/** One socket from the page to lab-server, as the test saw it. */
interface WatchedSocket {
  /** The requests and events the page sent, by name, in order. */
  sent: string[];
  /** lab-server has sent the session: the socket is connected. */
  session: boolean;
  closed: boolean;
}

/** Passes every socket through to lab-server, recording what each carried. */
async function watchSockets(page: Page): Promise<WatchedSocket[]> {
  const sockets: WatchedSocket[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (route) => {
    const server = route.connectToServer();
    const watched: WatchedSocket = { sent: [], session: false, closed: false };
    sockets.push(watched);
    route.onMessage((frame) => {
      const event = /^42\d*\["([\w:-]+)"/.exec(frame.toString())?.[1];
      if (event) watched.sent.push(event);
      server.send(frame);
    });
    server.onMessage((frame) => {
      if (frame.toString().startsWith('42["session"')) watched.session = true;
      route.send(frame);
    });
    route.onClose(() => (watched.closed = true));
    server.onClose(() => (watched.closed = true));
  });
  return sockets;
}

const sandboxAsks = (sockets: WatchedSocket[]) => sockets.flatMap((socket) => socket.sent).filter((event) => event === 'sandbox:open').length;

function lessonCard(page: Page): Locator {
  return page.getByTestId('lesson-card').and(page.locator(`a[href="${LESSON}"]`));
}

/** Puts the pointer on the card and presses the button (not released). */
async function pressOn(page: Page, card: Locator): Promise<void> {
  await card.scrollIntoViewIfNeeded();
  const box = (await card.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
}

test.afterEach(async ({ page }) => {
  await page.unrouteAll({ behavior: 'ignoreErrors' });
});

test('a press on a lesson connects to the lab before the click, and the sandbox is asked for only when the press becomes a click', async ({ page }) => {
  const sockets = await watchSockets(page);
  await page.goto('/', { waitUntil: 'load' });
  await pressOn(page, lessonCard(page));

  // Pressed and not released: connected, with no sandbox yet.
  await expect.poll(() => sockets.filter((socket) => socket.session).length, POLL).toBe(1);
  expect(sandboxAsks(sockets)).toBe(0);
  await expect(page).toHaveURL(/\/$/);

  await page.mouse.up();
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  // One sandbox, asked for once, and the page's terminal came over that socket. (Not "one socket":
  // on a loaded box a handshake past its deadline is retried on a new socket, as it should be.)
  expect(sandboxAsks(sockets)).toBe(1);
  expect(sockets.find((socket) => socket.sent.includes('sandbox:open'))?.sent).toContain('terminal:open');
});

test('a press released off the lesson starts no sandbox and closes its connection; a click afterwards opens the lesson', async ({ page }) => {
  const sockets = await watchSockets(page);
  await page.goto('/', { waitUntil: 'load' });
  const card = lessonCard(page);
  await pressOn(page, card);
  await expect.poll(() => sockets.filter((socket) => socket.session).length, POLL).toBe(1);

  // The learner changes their mind: the pointer leaves the card before the button comes up.
  const heading = (await page.getByRole('heading', { level: 1 }).boundingBox())!;
  await page.mouse.move(heading.x + 5, heading.y + 5, { steps: 5 });
  await page.mouse.up();
  await expect.poll(() => sockets[0].closed, POLL).toBe(true);
  expect(sandboxAsks(sockets)).toBe(0);
  await expect(page).toHaveURL(/\/$/);

  // The next press is a click: the lesson opens, on a socket of its own, with one sandbox.
  await card.click();
  await pollFor(page, PROMPT, { slot: 0, ...PROMPT_WAIT });
  expect(sandboxAsks(sockets)).toBe(1);
  expect(sockets.filter((socket) => socket.sent.includes('sandbox:open'))).toHaveLength(1);
});

/** What marks xterm.js in the built JavaScript: the class of the element it takes keys from. */
const XTERM_MARK = 'xterm-helper-textarea';

test('the course map, left alone, loads the terminal’s code and opens no socket', async ({ page }) => {
  let xtermLoaded!: () => void;
  const xtermRequested = new Promise<void>((resolve) => (xtermLoaded = resolve));
  await page.route(/\/_next\/static\/chunks\/[\w.-]+\.js$/, async (route) => {
    let fetched;
    try {
      const response = await route.fetch();
      fetched = { response, body: await response.text() };
      if (fetched.body.includes(XTERM_MARK)) xtermLoaded();
    } catch {
      // The page gave the request up, or is closing.
      await route.abort().catch(() => undefined);
      return;
    }
    await route.fulfill(fetched).catch(() => undefined);
  });
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  // The pointer stays off the page: nothing but the map being idle can load it.
  await page.goto('/', { waitUntil: 'load' });
  await xtermRequested;
  expect(sockets).toEqual([]);
});
