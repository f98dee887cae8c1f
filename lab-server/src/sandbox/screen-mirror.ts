/**
 * A server-side copy of a terminal's screen (@xterm/headless), so that a browser that reconnects
 * gets the current screen back (serialize addon) before the live stream continues.
 *
 * Parsing happens on a worker thread (mirror-worker.mjs), never on lab-server's event loop,
 * because what it costs is chosen by whoever writes to the terminal. Measured on the 2-core dev
 * box (headless 6, per char of input): text about 1 µs; `ESC # 8` (DECALN, fills every cell)
 * 34 µs at 80×24 and 300 µs at 500×200; `ESC [ 999 S` (scroll 999 lines into the scrollback)
 * 600-2,800 µs; and xterm.js does work in proportion to the count of scroll, insert, delete,
 * repeat and tab sequences without a bound, so `ESC [ 20000 S` took 0.6 s and a count of 2^31
 * would take hours. One sandbox printing those in a loop made every other learner's keystrokes
 * wait seconds while they were parsed on the event loop. So:
 *  - counts are clamped before parsing (`boundCounts`) to the most that can matter for a screen
 *    of the largest size with the mirror's scrollback, which leaves the screen as it would be;
 *  - the worker parses in slices, round-robin over terminals, each paying from a CPU budget; a
 *    terminal whose budget is spent is throttled, and its pty is paused until the budget refills
 *    (flow control by cost: `isBehind`), so the program in the sandbox waits instead of lab-server;
 *  - the backlog is bounded by its estimated parse time as well as by its size, and a backlog that
 *    turns out to cost far more than estimated is dropped from the mirror (MAX_BACKLOG_AGE_MS).
 *
 * The headless parser handles about 12 MB/s of `yes` output and spends most of that scrolling,
 * so parsing everything would cap throughput and cost more CPU than the stream itself. It need
 * not: a terminal with `scrollback` lines of history keeps only the last rows + scrollback lines
 * of plain text, so the mirror parses only those (see `trimPlainRuns`). To make that cut as
 * large as possible, output is gathered into chunks of up to MIRROR_CHUNK_CHARS and sent to the
 * worker when a chunk is full, when output pauses for MIRROR_IDLE_MS, or at once when someone
 * needs the screen (`snapshot`). The backlog is bounded by flow control: the terminal pauses the
 * pty while the mirror is behind by more than MIRROR_HIGH_WATER_CHARS or MIRROR_HIGH_WATER_MS of
 * estimated parsing, or is throttled.
 */
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { TERMINAL_LIMITS } from '../../../protocol';
import { SEMI_SPACE_MIB } from '../launch';
import type { Disposable } from '../runtime/runtime';

/**
 * Lines above the screen that the mirror's xterm.js terminal keeps itself. xterm.js keeps about
 * 1.5 KB a line at 100 columns (cells and line objects), so this is short: what a reload gets
 * back above the screen is mostly the compact history below.
 */
export const MIRROR_SCROLLBACK = 50;
/**
 * The history a reload, a spotlight or a resync gets back above the terminal's own scrollback:
 * the lines the terminal drops, kept as their text and SGR attributes (mirror-worker.mjs), up to
 * this many lines and this many chars per terminal, whichever comes first (the oldest go). A
 * char takes 1 byte (2 in a line with a character above U+00FF), so a terminal's history is at
 * most 128 KiB however it is written to; ordinary output fills it in 500-1,000 lines. Before it,
 * the mirror kept 300 lines as xterm.js cells: about 450 KB at 100 columns, and a class's
 * memory still grew ten minutes into a lesson. The learner's own tab keeps its longer
 * scrollback (5,000 lines) for as long as it stays open.
 */
export const MIRROR_HISTORY = { rows: 1000, chars: 64 * 1024 } as const;
const MIRROR_CHUNK_CHARS = 128 * 1024;
const MIRROR_IDLE_MS = 25;
/** Above this backlog the pty is paused; below the low mark it may run again. */
export const MIRROR_HIGH_WATER_CHARS = 4 * MIRROR_CHUNK_CHARS;
export const MIRROR_LOW_WATER_CHARS = MIRROR_CHUNK_CHARS;
/** The same marks in estimated parse time (the worker's measured cost per char of each terminal). */
const MIRROR_HIGH_WATER_MS = 250;
const MIRROR_LOW_WATER_MS = 50;
const MIRROR_COST_FLOOR_CHARS = MIRROR_LOW_WATER_CHARS;
/**
 * The worker's CPU budget. Each terminal may use half a core for its mirror on average, with a
 * 2 s burst: a full-screen program redrawing at 300×100 uses a few percent, a `yes` flood (trimmed)
 * about as much, `cat` of a big log at full speed about a third. All terminals together get at
 * most three quarters of a core, so the mirror always leaves the sandboxes and lab-server the
 * rest of even a 2-core host.
 */
export const MIRROR_BUDGET = { share: 0.5, burstMs: 2000, globalShare: 0.75 } as const;
/**
 * The most the worker's old generation may take, in MiB: 1 GiB, or V8's own default for the host
 * if that is less (a quarter of the RAM on a small host). The point is not the limit but what V8
 * derives from it: between two full collections it lets an old generation grow to up to 4× what
 * was live after the last one when the limit is 2 GiB or more (the default on a host with 8 GiB
 * of RAM or more), and to at most 1.6× at 1 GiB (`MaxGrowingFactor`, V8's heap-controller.cc).
 * Under a class of 100 (`npm run load -- --lab-memory-log`) the worker's heap swung between 27
 * and 72 MiB used and took up to 83 MiB committed by default; with this, 24-31 MiB used in at
 * most 41 MiB. It is no limit a class comes near: a terminal's mirror keeps ~0.3 MiB there as a
 * class uses it and under 2 MiB at its worst (a full history of two-byte text and a paused pty's
 * backlog, MIRROR_HIGH_WATER_CHARS), so 1 GiB is 500 terminals at their worst all at once (the
 * default ISOLAB_MAX_SANDBOXES allows 400 terminals) and thousands as they are. Should it be
 * reached all the same, the worker alone stops and the mirrors start again, empty (`restarted`).
 * V8's `--heap-growing-percent` would do this for the whole process, and so also for the event
 * loop, whose heap is flat without it.
 */
const MIRROR_OLD_GENERATION_MIB = Math.min(1024, Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20));

/** Messages to the worker. */
type ToWorker =
  | { op: 'open'; id: string; cols: number; rows: number }
  | { op: 'write'; id: string; data: string; rawChars: number }
  | { op: 'resize'; id: string; cols: number; rows: number }
  | { op: 'snapshot'; id: string; request: number }
  | { op: 'close'; id: string }
  | { op: 'memory'; request: number };
/** Messages from the worker. */
type FromWorker =
  | { op: 'progress'; id: string; rawChars: number; costMs: number; msPerChar: number; throttled: boolean }
  | { op: 'snapshot'; id: string; request: number; data: string }
  | ({ op: 'memory'; request: number } & WorkerMemory);

/** What the mirrors' worker holds, in bytes: its V8 heap in use and committed, its young generation, and its external memory (xterm.js's cells). */
export interface WorkerMemory {
  heapUsed: number;
  heapTotal: number;
  newSpace: number;
  external: number;
}

export class ScreenMirror implements Disposable {
  readonly id = `mirror-${++mirrorCount}`;
  /** Chars written and not yet parsed: the gathered chunk plus what the worker still holds. */
  pendingChars = 0;
  /**
   * The worker's measure of what this terminal's pty output costs to parse, per char. Until it
   * has measured, assume the worst seen for ordinary screens (50 µs a char).
   */
  private msPerChar = 0.05;
  /** The terminal's CPU budget is spent; the worker skips it until it refills. */
  private throttled = false;
  /** Parse time used so far, for metrics and tests. */
  cpuMs = 0;
  /** Chars handed to the worker so far; a snapshot is only current if none came after it. */
  private writtenChars = 0;
  /** Output gathered since the last feed; trimmed as a whole when it is handed to the worker. */
  private chunk = '';
  /** The start of an escape sequence cut by the end of a chunk, kept for the next one. */
  private heldTail = '';
  private idleTimer: NodeJS.Timeout | undefined;
  private rows: number;
  private disposed = false;

  constructor(
    private cols: number,
    rows: number,
    /** Called whenever the parser catches up a little, so flow control can resume the pty. */
    private readonly onProgress: () => void = () => {},
  ) {
    this.rows = rows;
    mirrorThread.add(this);
  }

  write(data: string): void {
    if (this.disposed || !data) return;
    this.chunk += data;
    this.pendingChars += data.length;
    // A chunk waiting for the idle timer while the pty is paused for it would only waste time.
    if (this.chunk.length >= MIRROR_CHUNK_CHARS || this.isBehind('high')) this.feed();
    else this.idleTimer ??= setTimeout(() => this.feed(), MIRROR_IDLE_MS);
  }

  /** The terminal has spent its CPU budget for now (see MIRROR_BUDGET). */
  get isThrottled(): boolean {
    return this.throttled;
  }

  /** True while the pty should stay paused for the mirror (`mark` high to pause, low to resume). */
  isBehind(mark: 'high' | 'low'): boolean {
    if (this.throttled) return true;
    // The cost only counts above the low mark in chars: below it the estimate of a terminal that
    // has printed little is rough, and ordinary output must never wait for it (a backlog that
    // turns out expensive anyway is throttled by the budget and dropped after MAX_BACKLOG_AGE_MS).
    const costly = (limitMs: number) => this.pendingChars > MIRROR_COST_FLOOR_CHARS && this.pendingChars * this.msPerChar > limitMs;
    return mark === 'high'
      ? this.pendingChars > MIRROR_HIGH_WATER_CHARS || costly(MIRROR_HIGH_WATER_MS)
      : this.pendingChars > MIRROR_LOW_WATER_CHARS || costly(MIRROR_LOW_WATER_MS);
  }

  /** Resizes after the output written so far, which was produced at the old size. */
  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.feed();
    this.cols = cols;
    this.rows = rows;
    mirrorThread.post({ op: 'resize', id: this.id, cols, rows });
  }

  /**
   * The screen and scrollback as escape sequences, once everything written so far is parsed;
   * write them into a reset terminal to restore it. Asked again if output was written while the
   * worker was busy, so that the caller can send output from here on without a gap.
   */
  async snapshot(): Promise<string> {
    for (;;) {
      this.feed();
      if (this.disposed) return '';
      const written = this.writtenChars;
      const data = await mirrorThread.snapshot(this.id);
      if (this.disposed) return '';
      if (this.writtenChars === written && !this.chunk) return data;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.idleTimer);
    mirrorThread.remove(this);
  }

  /** The worker's news about this terminal. */
  progressed(rawChars: number, costMs: number, msPerChar: number, throttled: boolean): void {
    this.pendingChars = Math.max(0, this.pendingChars - rawChars);
    this.cpuMs += costMs;
    this.msPerChar = msPerChar;
    this.throttled = throttled;
    this.onProgress();
  }

  /** The worker was replaced (it died): the screen starts again empty, at the current size. */
  restarted(): void {
    this.pendingChars = this.chunk.length;
    this.throttled = false;
    mirrorThread.post({ op: 'open', id: this.id, cols: this.cols, rows: this.rows });
    this.onProgress();
  }

  /** Hands the gathered chunk to the worker, trimmed and with its counts bounded. */
  private feed(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.chunk || this.disposed) return;
    const taken = this.chunk.length;
    const { text, tail } = splitUnfinishedEscape(this.heldTail + trimPlainRuns(this.chunk, this.rows + MIRROR_SCROLLBACK + MIRROR_HISTORY.rows + 1));
    this.chunk = '';
    this.heldTail = tail;
    this.writtenChars += taken;
    mirrorThread.post({ op: 'write', id: this.id, data: boundCounts(text), rawChars: taken });
  }

  /** Opens this mirror in the worker (also after a restart). */
  open(): void {
    mirrorThread.post({ op: 'open', id: this.id, cols: this.cols, rows: this.rows });
  }
}

let mirrorCount = 0;

/** The one worker thread all mirrors share, started with the first mirror. */
class MirrorThread {
  private worker: Worker | undefined;
  private readonly mirrors = new Map<string, ScreenMirror>();
  private readonly snapshotWaiters = new Map<number, (data: string) => void>();
  private readonly memoryWaiters = new Map<number, (memory: WorkerMemory) => void>();
  private requests = 0;

  add(mirror: ScreenMirror): void {
    this.mirrors.set(mirror.id, mirror);
    mirror.open();
  }

  remove(mirror: ScreenMirror): void {
    if (this.mirrors.delete(mirror.id)) this.post({ op: 'close', id: mirror.id });
    // The last mirror gone: let the thread go too (tests, shutdown). The next mirror starts one.
    if (this.mirrors.size === 0 && this.snapshotWaiters.size === 0 && this.memoryWaiters.size === 0) {
      void this.worker?.terminate();
      this.worker = undefined;
    }
  }

  post(message: ToWorker): void {
    this.ensureWorker().postMessage(message);
  }

  snapshot(id: string): Promise<string> {
    const request = ++this.requests;
    return new Promise((resolve) => {
      this.snapshotWaiters.set(request, resolve);
      this.post({ op: 'snapshot', id, request });
    });
  }

  /** What the worker holds (WorkerMemory). */
  memory(): Promise<WorkerMemory> {
    const request = ++this.requests;
    return new Promise((resolve) => {
      this.memoryWaiters.set(request, resolve);
      this.post({ op: 'memory', request });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./mirror-worker.mjs', import.meta.url), {
      workerData: { scrollback: MIRROR_SCROLLBACK, history: MIRROR_HISTORY, budget: MIRROR_BUDGET },
      // Nothing of lab-server's loaders (tsx, vitest) is needed there.
      execArgv: [],
      // The young generation lab-server's flags give it (launch.ts), also where lab-server was
      // started without them: the parser's garbage would otherwise grow it to 32 MiB. V8 counts a
      // young generation as three half-spaces (two semi-spaces and as much for large objects).
      resourceLimits: { maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MIB, maxOldGenerationSizeMb: MIRROR_OLD_GENERATION_MIB },
    });
    worker.unref();
    worker.on('message', (message: FromWorker) => {
      if (message.op === 'snapshot') {
        const resolve = this.snapshotWaiters.get(message.request);
        this.snapshotWaiters.delete(message.request);
        resolve?.(message.data);
      } else if (message.op === 'memory') {
        this.memoryWaiters.get(message.request)?.({ heapUsed: message.heapUsed, heapTotal: message.heapTotal, newSpace: message.newSpace, external: message.external });
        this.memoryWaiters.delete(message.request);
      } else {
        this.mirrors.get(message.id)?.progressed(message.rawChars, message.costMs, message.msPerChar, message.throttled);
      }
    });
    worker.on('error', (error) => console.error(JSON.stringify({ level: 'error', msg: 'screen mirror worker failed', code: 'MIRROR_FAILED', err: String(error) })));
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      // It died (terminate() clears `worker` first): every screen starts again, empty.
      this.worker = undefined;
      for (const resolve of this.snapshotWaiters.values()) resolve('');
      this.snapshotWaiters.clear();
      for (const resolve of this.memoryWaiters.values()) resolve({ heapUsed: 0, heapTotal: 0, newSpace: 0, external: 0 });
      this.memoryWaiters.clear();
      if (this.mirrors.size > 0) for (const mirror of this.mirrors.values()) mirror.restarted();
    });
    this.worker = worker;
    return worker;
  }
}

const mirrorThread = new MirrorThread();

/** What the mirrors' worker holds (for the mirror-history benchmark); starts the worker if none runs. */
export function mirrorWorkerMemory(): Promise<WorkerMemory> {
  return mirrorThread.memory();
}

/**
 * The largest count that can matter for a scroll, insert, delete, erase, repeat, tab or cursor
 * move on a screen of the largest size with the mirror's scrollback: scrolling by more pushes
 * only blank lines out of the history, moving or inserting by more stops at the edge. xterm.js
 * does work in proportion to these counts with no bound of its own (see the header).
 */
const MAX_COUNT = TERMINAL_LIMITS.maxRows + MIRROR_SCROLLBACK;
/** CSI (7-bit or C1) with plain numeric parameters, and a final byte that takes a count. */
const COUNTED_CSI = /(\x1b\[|\x9b)([\d;:]*)([@A-GIL-MPSTXZ`a-bde])/g;

/** Clamps the counts of CSI sequences to MAX_COUNT. Exported for its unit tests. */
export function boundCounts(data: string): string {
  if (!data.includes('\x1b') && !data.includes('\x9b')) return data;
  return data.replace(COUNTED_CSI, (whole, introducer: string, params: string, final: string) => {
    if (!/\d{4}/.test(params)) return whole;
    return introducer + params.replace(/\d+/g, (n) => (Number(n) > MAX_COUNT ? String(MAX_COUNT) : n)) + final;
  });
}

/**
 * Splits off an escape sequence cut by the end of `data` (its count may go on in the next
 * chunk), so that boundCounts sees it whole next time. A long run of digits in the held part is
 * shortened, as boundCounts would clamp it anyway, so the held part stays a few bytes.
 */
export function splitUnfinishedEscape(data: string): { text: string; tail: string } {
  const match = /(\x1b\[?|\x9b)[\d;:]*$/.exec(data);
  if (!match) return { text: data, tail: '' };
  return { text: data.slice(0, match.index), tail: match[0].replace(/\d{5,}/g, '99999') };
}

/**
 * Anything that moves the cursor other than by printing, line feeds, tabs and backspaces: escape
 * sequences, C0 controls, and C1 controls. A run of text without these is "plain".
 */
const NOT_PLAIN = /[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

/**
 * Shortens each long run of plain text to its first line and its last `keepLines` lines, cutting
 * only just after a "\r\n", where the cursor is at column 0. For plain text this leaves the final
 * screen and scrollback exactly as the whole run would: with keepLines = rows + scrollback +
 * history rows + 1 (MIRROR_HISTORY), every dropped line would have scrolled out of the history anyway, and plain text never changes
 * colours or modes. Exported for its unit tests.
 */
export function trimPlainRuns(data: string, keepLines: number): string {
  // Fast path: a chunk with fewer line breaks than we keep cannot be shortened.
  if (data.length < keepLines * 2) return data;
  const parts: string[] = [];
  let runStart = 0;
  NOT_PLAIN.lastIndex = 0;
  for (let match = NOT_PLAIN.exec(data); ; match = NOT_PLAIN.exec(data)) {
    const runEnd = match ? match.index : data.length;
    parts.push(trimRun(data.slice(runStart, runEnd), keepLines));
    if (!match) break;
    parts.push(match[0]);
    runStart = runEnd + 1;
  }
  return parts.join('');
}

function trimRun(run: string, keepLines: number): string {
  if (run.length < keepLines * 2) return run;
  // A run that follows an ESC starts with the rest of that escape sequence ("[44m..."), so its
  // first line is always kept; only whole lines after it may go.
  const firstBreak = run.indexOf('\r\n');
  if (firstBreak < 0) return run;
  let cut = run.length;
  for (let found = 0; found < keepLines; found++) {
    cut = run.lastIndexOf('\r\n', cut - 1);
    if (cut <= firstBreak) return run;
  }
  return run.slice(0, firstBreak + 2) + run.slice(cut + 2);
}
