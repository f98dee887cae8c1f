// @ts-check
/**
 * The screen mirrors' parser, on a thread of its own (see screen-mirror.ts for why).
 *
 * Plain JavaScript on purpose: Node 20 cannot load TypeScript in a worker without a loader, and
 * lab-server runs under tsx in production and under vitest in tests. The messages are typed in
 * screen-mirror.ts (`ToWorker`, `FromWorker`).
 *
 * Work is done one slice at a time, round-robin over the screens that have work, and each
 * screen pays for its slices from a CPU budget (a token bucket of milliseconds). A screen whose
 * budget is spent is "throttled": it is skipped until the bucket refills, and lab-server pauses
 * its pty meanwhile, so the program in the sandbox blocks on write. That is flow control by
 * cost, not by characters: 3 bytes of `ESC # 8` cost as much as 100 kB of text.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import headless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';

const { Terminal } = headless;
const { SerializeAddon } = serializeAddon;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { scrollback, budget } = workerData;

/** A slice aims at this much parse time, so the round-robin turns stay short for everyone. */
const SLICE_TARGET_MS = 5;
const MIN_SLICE_CHARS = 256;
const MAX_SLICE_CHARS = 32 * 1024;
/** Until a screen has been measured, assume it is expensive (a slice of 100 chars). */
const INITIAL_MS_PER_CHAR = 0.05;
/**
 * A screen that is over its budget with output queued for longer than this has that output
 * dropped, and shows a notice instead. lab-server pauses the pty early on its estimate of the
 * cost, but the cost of output is only known once it is parsed: output that was cheap and turns
 * expensive can leave minutes of parsing queued. Only the mirror loses it (a reconnect shows the
 * notice); the browser got all of it. Ordinary output, even a flood, never waits this long.
 */
const MAX_BACKLOG_AGE_MS = 20_000;
const SKIPPED_NOTICE = '\x1bc\x1b[7m[lab-server skipped output that cost too much to keep for a reconnect]\x1b[0m\r\n';

/**
 * @typedef {{ kind: 'write', data: string, offset: number, rawChars: number, queuedAt: number, costMs?: number }
 *   | { kind: 'resize', cols: number, rows: number }
 *   | { kind: 'snapshot', request: number }} Op
 * @typedef {{ id: string, terminal: any, serializer: any, queue: Op[], queuedChars: number,
 *   msPerChar: number, msPerRawChar: number, tokens: number, refilledAt: number, throttled: boolean, refillTimer?: NodeJS.Timeout }} Screen
 */

/** @type {Map<string, Screen>} */
const screens = new Map();
/** Round-robin order: the screen after the last one served goes next. */
let turn = 0;
/** The screen whose slice is being parsed; a screen closed meanwhile is disposed after it. */
let inFlight = /** @type {Screen | undefined} */ (undefined);
/** The whole worker's bucket: all screens together may not take more than budget.globalShare of a core. */
const global = { tokens: budget.burstMs, refilledAt: performance.now(), timer: /** @type {NodeJS.Timeout | undefined} */ (undefined) };

port.on('message', (/** @type {any} */ message) => {
  const screen = screens.get(message.id);
  switch (message.op) {
    case 'open': {
      const terminal = new Terminal({ cols: message.cols, rows: message.rows, scrollback, allowProposedApi: true });
      const serializer = new SerializeAddon();
      terminal.loadAddon(serializer);
      screens.set(message.id, { id: message.id, terminal, serializer, queue: [], queuedChars: 0, msPerChar: INITIAL_MS_PER_CHAR, msPerRawChar: INITIAL_MS_PER_CHAR, tokens: budget.burstMs, refilledAt: performance.now(), throttled: false });
      break;
    }
    case 'write':
      if (!screen) break;
      screen.queue.push({ kind: 'write', data: message.data, offset: 0, rawChars: message.rawChars, queuedAt: performance.now() });
      screen.queuedChars += message.data.length;
      break;
    case 'resize':
      screen?.queue.push({ kind: 'resize', cols: message.cols, rows: message.rows });
      break;
    case 'snapshot':
      if (screen) screen.queue.push({ kind: 'snapshot', request: message.request });
      else port.postMessage({ op: 'snapshot', id: message.id, request: message.request, data: '' });
      break;
    case 'close':
      if (!screen) break;
      clearTimeout(screen.refillTimer);
      screens.delete(message.id);
      if (inFlight !== screen) screen.terminal.dispose();
      break;
  }
  pump();
});

/** Refills a bucket for the time since it was last refilled. */
function refill(/** @type {{ tokens: number, refilledAt: number }} */ bucket, /** @type {number} */ share) {
  const now = performance.now();
  bucket.tokens = Math.min(budget.burstMs, bucket.tokens + (now - bucket.refilledAt) * share);
  bucket.refilledAt = now;
}

function nextScreen() {
  const list = [...screens.values()];
  for (let i = 0; i < list.length; i++) {
    const screen = list[(turn + i) % list.length];
    if (screen.queue.length > 0 && !screen.throttled) {
      turn = (turn + i + 1) % list.length;
      return screen;
    }
  }
  return undefined;
}

/** Does the next slice of work, then schedules the one after. One slice is in flight at a time. */
function pump() {
  if (inFlight) return;
  refill(global, budget.globalShare);
  if (global.tokens < 0) {
    global.timer ??= setTimeout(() => {
      global.timer = undefined;
      pump();
    }, -global.tokens / budget.globalShare);
    return;
  }
  const screen = nextScreen();
  if (!screen) return;
  const op = screen.queue[0];
  if (op.kind === 'write') {
    const sliceChars = Math.round(Math.min(MAX_SLICE_CHARS, Math.max(MIN_SLICE_CHARS, SLICE_TARGET_MS / screen.msPerChar)));
    const slice = op.data.slice(op.offset, op.offset + sliceChars);
    op.offset += slice.length;
    inFlight = screen;
    // The write's callback comes after a timer turn; event-loop utilisation counts only the
    // time this thread was busy in between, which is the parse of this slice.
    const before = performance.eventLoopUtilization();
    screen.terminal.write(slice, () => {
      inFlight = undefined;
      if (!screens.has(screen.id)) {
        screen.terminal.dispose();
        return pump();
      }
      const costMs = performance.eventLoopUtilization(before).active;
      // Rise at once, fall by halves: a screen that turns expensive is sliced finely at once.
      const measured = costMs / slice.length;
      screen.msPerChar = measured > screen.msPerChar ? measured : 0.5 * screen.msPerChar + 0.5 * measured;
      screen.queuedChars -= slice.length;
      // What lab-server's flow control needs: the cost per char of pty output (before trimming).
      op.costMs = (op.costMs ?? 0) + costMs;
      const parsedRaw = op.rawChars * (op.offset / op.data.length);
      if (parsedRaw >= 1) {
        const perRaw = op.costMs / parsedRaw;
        screen.msPerRawChar = perRaw > screen.msPerRawChar ? perRaw : 0.5 * screen.msPerRawChar + 0.5 * perRaw;
      }
      let rawChars = 0;
      if (op.offset >= op.data.length) {
        screen.queue.shift();
        rawChars = op.rawChars;
      }
      charge(screen, costMs, rawChars);
      pump();
    });
    return;
  }
  screen.queue.shift();
  const started = performance.now();
  if (op.kind === 'resize') {
    screen.terminal.resize(op.cols, op.rows);
    charge(screen, performance.now() - started, 0);
  } else {
    const data = screen.serializer.serialize({ scrollback });
    port.postMessage({ op: 'snapshot', id: screen.id, request: op.request, data });
    charge(screen, performance.now() - started, 0);
  }
  setImmediate(pump);
}

/** Drops the screen's queued output for a notice; returns the raw chars dropped. */
function skipBacklog(/** @type {Screen} */ screen) {
  let rawChars = 0;
  screen.queue = screen.queue.filter((op) => {
    if (op.kind !== 'write') return true;
    rawChars += op.rawChars;
    return false;
  });
  screen.queue.unshift({ kind: 'write', data: SKIPPED_NOTICE, offset: 0, rawChars: 0, queuedAt: performance.now() });
  screen.queuedChars = SKIPPED_NOTICE.length;
  return rawChars;
}

/** Takes `costMs` from the screen's and the worker's buckets and tells lab-server where the screen stands. */
function charge(/** @type {Screen} */ screen, /** @type {number} */ costMs, /** @type {number} */ rawChars) {
  refill(screen, budget.share);
  screen.tokens -= costMs;
  global.tokens -= costMs;
  if (screen.tokens < 0 && !screen.throttled) {
    screen.throttled = true;
    screen.refillTimer = setTimeout(() => {
      // The end of a throttled spell: output still waiting from long ago is not worth parsing.
      const oldest = screen.queue.find((queued) => queued.kind === 'write');
      const skipped = oldest && performance.now() - oldest.queuedAt > MAX_BACKLOG_AGE_MS ? skipBacklog(screen) : 0;
      screen.throttled = false;
      refill(screen, budget.share);
      report(screen, skipped, 0);
      pump();
    }, -screen.tokens / budget.share);
  }
  report(screen, rawChars, costMs);
}

function report(/** @type {Screen} */ screen, /** @type {number} */ rawChars, /** @type {number} */ costMs) {
  port.postMessage({ op: 'progress', id: screen.id, rawChars, costMs, msPerChar: screen.msPerRawChar, throttled: screen.throttled });
}
