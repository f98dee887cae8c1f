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
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import headless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';

const { Terminal } = headless;
const { SerializeAddon } = serializeAddon;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { scrollback, history: historyLimits, budget } = workerData;

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
 * @typedef {{ rows: string[], chars: number, top?: import('@xterm/headless').IMarker }} History
 * @typedef {{ id: string, terminal: any, serializer: any, history: History, queue: Op[], queuedChars: number,
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
      const history = { rows: [], chars: 0 };
      keepHistory(terminal, history);
      screens.set(message.id, { id: message.id, terminal, serializer, history, queue: [], queuedChars: 0, msPerChar: INITIAL_MS_PER_CHAR, msPerRawChar: INITIAL_MS_PER_CHAR, tokens: budget.burstMs, refilledAt: performance.now(), throttled: false });
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
    case 'memory': {
      // A benchmark runs with --expose-gc: collect first, so that the figure is what is kept.
      /** @type {{ gc?: () => void }} */ (globalThis).gc?.();
      const heap = getHeapStatistics();
      port.postMessage({ op: 'memory', request: message.request, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, newSpace: getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0, external: heap.external_memory });
      break;
    }
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

/**
 * The next screen with work, from position `turn` on. Two passes over the map (from `turn` to the
 * end, then from the start) rather than a copy of it: this runs for every slice and every message,
 * and a copy of a class's hundreds of screens each time was the worker's steadiest garbage.
 */
function nextScreen() {
  for (let pass = 0; pass < 2; pass++) {
    let index = 0;
    for (const screen of screens.values()) {
      if ((pass === 0 ? index >= turn : index < turn) && screen.queue.length > 0 && !screen.throttled) {
        turn = index + 1;
        return screen;
      }
      index++;
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
    const data = historyText(screen.terminal, screen.history) + screen.serializer.serialize({ scrollback });
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

/*
 * The history above the screen. xterm.js keeps about 1.5 KB a line at 100 columns (cells and line
 * objects), so the terminal itself keeps only `scrollback` lines above the screen, and each line
 * it is about to drop is kept here instead as the text and SGR attributes that redraw it (about
 * as long as the line's text), up to `historyLimits.rows` lines and `historyLimits.chars` chars:
 * whichever is reached first drops the oldest. A snapshot is this history, then the terminal's
 * own serialization. Only the normal buffer has a scrollback, so a full-screen program (the
 * alternate screen) adds nothing here; `ESC [ 3 J` (clear) and `ESC c` (reset) empty it, as they
 * empty the terminal's own scrollback.
 *
 * Capturing: while the normal buffer is full, each scroll drops its top line, and xterm.js says
 * so after the fact (onScroll). So the top line is kept as soon as the buffer is full, and again
 * after each scroll; a marker on the kept line tells whether the top line is kept already (an
 * onScroll that dropped nothing: a switch of buffers). A resize that reflows lines out of a full
 * buffer drops them without a scroll: the history then misses those lines (at most the screen's
 * height), and goes on from there. The cost is one line's serialization per line scrolled, paid
 * inside the parse and so counted in the terminal's CPU budget like the scroll itself.
 */

/** Keeps the lines `terminal` drops from its normal buffer in `history`. */
function keepHistory(/** @type {any} */ terminal, /** @type {History} */ history) {
  const cell = terminal.buffer.normal.getNullCell();
  terminal.onScroll(() => {
    const normal = terminal.buffer.normal;
    if (terminal.buffer.active.type !== 'normal' || normal.length < terminal.rows + scrollback) return;
    if (isKept(history)) return;
    history.top?.dispose();
    const line = normal.getLine(0);
    addRow(history, serializeRow(line, normal.getLine(1), cell));
    history.top = terminal.registerMarker(-(normal.baseY + normal.cursorY));
  });
  const clear = () => {
    history.rows = [];
    history.chars = 0;
    history.top?.dispose();
    history.top = undefined;
    return false; // xterm.js handles the sequence as usual
  };
  terminal.parser.registerCsiHandler({ final: 'J' }, (/** @type {(number | number[])[]} */ params) => (params[0] === 3 && terminal.buffer.active.type === 'normal' ? clear() : false));
  terminal.parser.registerEscHandler({ final: 'c' }, clear);
}

/** The terminal's top line is in the history already (the newest row). */
function isKept(/** @type {History} */ history) {
  return history.top !== undefined && !history.top.isDisposed && history.top.line === 0;
}

function addRow(/** @type {History} */ history, /** @type {string} */ row) {
  history.rows.push(row);
  history.chars += row.length;
  while (history.rows.length > historyLimits.rows || history.chars > historyLimits.chars) history.chars -= /** @type {string} */ (history.rows.shift()).length;
}

/** The history as text to write before the terminal's serialization (each row starts with its line break). */
function historyText(/** @type {any} */ terminal, /** @type {History} */ history) {
  // The top line is kept before the terminal drops it: while it is still there, it is the terminal's.
  const rows = isKept(history) ? history.rows.slice(0, -1) : history.rows;
  if (rows.length === 0) return '';
  const text = rows.join('');
  const first = text.startsWith('\r\n') ? text.slice(2) : text;
  return first + (terminal.buffer.normal.getLine(0)?.isWrapped ? '' : '\r\n');
}

/**
 * One row as text with SGR sequences, starting from and returning to default attributes, without
 * its trailing blank cells, after the line break that starts it (none for a row that goes on from
 * the one above). The break is the first part rather than prepended to the result: a prepended
 * string is a cons string, an extra object for every kept row until the history is joined. A row that goes on in the next one (`next` is wrapped) is filled to its
 * width, so that the next row's text wraps as it did; it need not be when what is left is the one
 * cell a wide character did not fit in, as that character wraps by itself. In a wrapped row, empty
 * cells before the first text are written as spaces (moving the cursor right would not wrap).
 * Empty cells with a background are erased with it (ECH).
 */
function serializeRow(/** @type {any} */ line, /** @type {any} */ next, /** @type {any} */ cell) {
  let end = line.length;
  while (end > 0 && isBlank(line.getCell(end - 1, cell))) end--;
  let pad = 0;
  if (next?.isWrapped && end < line.length && !(line.length - end === 1 && next.getCell(0, cell)?.getWidth() === 2)) pad = line.length - end;
  /** @type {string[]} */
  const parts = line.isWrapped ? [] : ['\r\n'];
  let style = '';
  let skipped = 0;
  let leading = line.isWrapped;
  for (let x = 0; x < end; x++) {
    line.getCell(x, cell);
    const width = cell.getWidth();
    if (width === 0) continue; // the second half of a wide character
    const chars = cell.getChars();
    if (!chars && !leading && isBlank(cell)) {
      skipped += width;
      continue;
    }
    if (skipped > 0) parts.push(`\x1b[${skipped}C`);
    skipped = 0;
    const next = sgr(cell);
    if (next !== style) parts.push(`\x1b[0${next}m`);
    style = next;
    if (chars) {
      parts.push(chars);
      leading = false;
    } else if (leading) parts.push(' ');
    else parts.push('\x1b[X\x1b[C');
  }
  if (style) parts.push('\x1b[0m');
  if (pad > 0) parts.push(' '.repeat(pad));
  return parts.join('');
}

/** An empty cell with no background (not the second half of a wide character). */
function isBlank(/** @type {any} */ cell) {
  return cell.getWidth() > 0 && !cell.getChars() && cell.isBgDefault();
}

/** A cell's attributes as SGR parameters after a reset (";1;31"), '' for the defaults. */
function sgr(/** @type {any} */ cell) {
  let params = '';
  if (cell.isBold()) params += ';1';
  if (cell.isDim()) params += ';2';
  if (cell.isItalic()) params += ';3';
  if (cell.isUnderline()) params += ';4';
  if (cell.isBlink()) params += ';5';
  if (cell.isInverse()) params += ';7';
  if (cell.isInvisible()) params += ';8';
  if (cell.isStrikethrough()) params += ';9';
  if (cell.isOverline()) params += ';53';
  params += color(cell.isFgRGB(), cell.isFgPalette(), cell.getFgColor(), 30);
  params += color(cell.isBgRGB(), cell.isBgPalette(), cell.getBgColor(), 40);
  return params;
}

function color(/** @type {boolean} */ rgb, /** @type {boolean} */ palette, /** @type {number} */ value, /** @type {number} */ base) {
  if (rgb) return `;${base + 8};2;${(value >>> 16) & 0xff};${(value >>> 8) & 0xff};${value & 0xff}`;
  if (!palette) return '';
  if (value >= 16) return `;${base + 8};5;${value}`;
  return `;${value & 8 ? base + 60 + (value & 7) : base + (value & 7)}`;
}
