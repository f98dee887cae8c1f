/**
 * A server-side copy of a terminal's screen (@xterm/headless), so that a browser that reconnects
 * gets the current screen back (serialize addon) before the live stream continues.
 *
 * The headless parser handles about 12 MB/s of `yes` output and spends most of that scrolling,
 * so parsing everything would cap throughput and cost more CPU than the stream itself. It need
 * not: a terminal with `scrollback` lines of history keeps only the last rows + scrollback lines
 * of plain text, so the mirror parses only those (see `trimPlainRuns`). To make that cut as
 * large as possible, output is gathered into chunks of up to MIRROR_CHUNK_CHARS and parsed when a
 * chunk is full, when output pauses for MIRROR_IDLE_MS, or at once when someone needs the screen
 * (`drain`). A flood then costs a thousand lines of parsing per chunk instead of per pty read.
 * The backlog is bounded by flow control: the terminal pauses the pty while `pendingChars` is
 * above MIRROR_HIGH_WATER_CHARS.
 */
import headless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';
import type { Disposable } from '../runtime/runtime';

const { Terminal } = headless;
const { SerializeAddon } = serializeAddon;

export const MIRROR_SCROLLBACK = 1000;
const MIRROR_CHUNK_CHARS = 128 * 1024;
const MIRROR_IDLE_MS = 25;
/** Above this backlog the pty is paused; below the low mark it may run again. */
export const MIRROR_HIGH_WATER_CHARS = 4 * MIRROR_CHUNK_CHARS;
export const MIRROR_LOW_WATER_CHARS = MIRROR_CHUNK_CHARS;

export class ScreenMirror implements Disposable {
  private readonly terminal: InstanceType<typeof Terminal>;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  /** Chars written and not yet parsed: the gathered chunk plus what the parser still holds. */
  pendingChars = 0;
  /** Output gathered since the last feed; trimmed as a whole when it is handed to the parser. */
  private chunk = '';
  private idleTimer: NodeJS.Timeout | undefined;
  /** The row count the parser will have once every queued resize is done; trimming keeps enough lines for it. */
  private rows: number;
  private drainWaiters: Array<() => void> = [];
  private disposed = false;

  constructor(
    cols: number,
    rows: number,
    /** Called whenever the parser catches up a little, so flow control can resume the pty. */
    private readonly onProgress: () => void = () => {},
  ) {
    this.rows = rows;
    this.terminal = new Terminal({ cols, rows, scrollback: MIRROR_SCROLLBACK, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    // The addon's types name the browser Terminal; the headless one has the same surface it uses.
    this.terminal.loadAddon(this.serializer as unknown as Parameters<typeof this.terminal.loadAddon>[0]);
  }

  write(data: string): void {
    if (this.disposed || !data) return;
    this.chunk += data;
    this.pendingChars += data.length;
    if (this.chunk.length >= MIRROR_CHUNK_CHARS) this.feed();
    else this.idleTimer ??= setTimeout(() => this.feed(), MIRROR_IDLE_MS);
  }

  /** Hands the gathered chunk to the parser, trimmed. */
  private feed(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.chunk || this.disposed) return;
    const taken = this.chunk.length;
    const trimmed = trimPlainRuns(this.chunk, this.rows + MIRROR_SCROLLBACK + 1);
    this.chunk = '';
    this.terminal.write(trimmed, () => {
      this.pendingChars -= taken;
      if (this.pendingChars === 0) this.wakeDrainWaiters();
      this.onProgress();
    });
  }

  /** Resolves once everything written so far has been parsed. */
  drain(): Promise<void> {
    this.feed();
    if (this.pendingChars === 0 || this.disposed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resizes after the output written so far, which was produced at the old size. */
  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.feed();
    this.rows = Math.max(this.rows, rows);
    this.terminal.write('', () => {
      this.terminal.resize(cols, rows);
      this.rows = rows;
    });
  }

  /** The screen and scrollback as escape sequences; write them into a reset terminal to restore it. */
  snapshot(): string {
    return this.disposed ? '' : this.serializer.serialize({ scrollback: MIRROR_SCROLLBACK });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.idleTimer);
    this.wakeDrainWaiters();
    this.terminal.dispose();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Anything that moves the cursor other than by printing, line feeds, tabs and backspaces: escape
 * sequences, C0 controls, and C1 controls. A run of text without these is "plain".
 */
const NOT_PLAIN = /[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

/**
 * Shortens each long run of plain text to its first line and its last `keepLines` lines, cutting
 * only just after a "\r\n", where the cursor is at column 0. For plain text this leaves the final
 * screen and scrollback exactly as the whole run would: with keepLines = rows + scrollback + 1,
 * every dropped line would have scrolled out of the history anyway, and plain text never changes
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
