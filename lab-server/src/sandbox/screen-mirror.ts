/**
 * A server-side copy of a terminal's screen (@xterm/headless), so that a browser that reconnects
 * gets the current screen back (serialize addon) before the live stream continues.
 *
 * The headless parser handles about 12 MB/s of `yes` output, less than the stream itself, so the
 * mirror would otherwise cap throughput. It does not need every line of a flood: a terminal with
 * `scrollback` lines of history keeps only the last rows + scrollback lines of plain text, so the
 * mirror feeds only those (see `trimPlainRuns`). Output that arrives while the parser is busy is
 * queued and trimmed as a whole, so the faster output comes, the less of it is parsed. The queue
 * is bounded by flow control: the terminal pauses the pty while `pendingChars` is above the
 * high-water mark.
 */
import headless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';
import type { Disposable } from '../runtime/runtime';

const { Terminal } = headless;
const { SerializeAddon } = serializeAddon;

export const MIRROR_SCROLLBACK = 1000;

export class ScreenMirror implements Disposable {
  private readonly terminal: InstanceType<typeof Terminal>;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  /** Chars written and not yet parsed: the queue plus the chunk in the parser. */
  pendingChars = 0;
  /** Output that arrived while the parser was busy. Trimmed as a whole, so floods shrink a lot. */
  private queue = '';
  private parsing = false;
  private drainWaiters: Array<() => void> = [];
  private disposed = false;

  constructor(
    cols: number,
    rows: number,
    /** Called whenever the parser catches up a little, so flow control can resume the pty. */
    private readonly onProgress: () => void = () => {},
  ) {
    this.terminal = new Terminal({ cols, rows, scrollback: MIRROR_SCROLLBACK, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    // The addon's types name the browser Terminal; the headless one has the same surface it uses.
    this.terminal.loadAddon(this.serializer as unknown as Parameters<typeof this.terminal.loadAddon>[0]);
  }

  write(data: string): void {
    if (this.disposed || !data) return;
    this.queue += data;
    this.pendingChars += data.length;
    this.pump();
  }

  private pump(): void {
    if (this.parsing || !this.queue || this.disposed) return;
    const taken = this.queue.length;
    const chunk = trimPlainRuns(this.queue, this.terminal.rows + MIRROR_SCROLLBACK + 1);
    this.queue = '';
    this.parsing = true;
    this.terminal.write(chunk, () => {
      this.parsing = false;
      this.pendingChars -= taken;
      if (this.pendingChars === 0) this.wakeDrainWaiters();
      this.onProgress();
      this.pump();
    });
  }

  /** Resolves once everything written so far has been parsed. */
  drain(): Promise<void> {
    if (this.pendingChars === 0 || this.disposed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  resize(cols: number, rows: number): void {
    if (!this.disposed) this.terminal.resize(cols, rows);
  }

  /** The screen and scrollback as escape sequences; write them into a reset terminal to restore it. */
  snapshot(): string {
    return this.disposed ? '' : this.serializer.serialize({ scrollback: MIRROR_SCROLLBACK });
  }

  /** The visible screen as plain text, one string per row (for tests and the instructor glance). */
  visibleText(): string[] {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < this.terminal.rows; row++) lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true) ?? '');
    return lines;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
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
