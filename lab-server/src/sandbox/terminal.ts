/**
 * One pty attached to a sandbox, its screen mirror, and the viewers watching it.
 *
 * Flow control: output goes out in batches, and each viewer acknowledges the chars its terminal
 * has written. The pty is paused while a viewer that governs flow (the owner) is more than the
 * high-water mark behind, or while the mirror is (in chars, in estimated parse time, or because
 * its CPU budget is spent; see screen-mirror.ts), and resumed at the low-water mark. A paused pty
 * stops reading, so the program in the sandbox blocks on write: memory stays bounded whatever
 * runs, and Ctrl-C still reaches the program at once because input is never queued behind output.
 *
 * Viewers that do not govern flow (an instructor watching, a class following) never slow the
 * owner down. One that falls behind stops receiving output, and once it has caught up with its
 * acks it gets the current screen instead of everything it missed.
 */
import { FLOW_CONTROL, type TerminalKind } from '../../../protocol';
import type { Disposable, PtyProcess } from '../runtime/runtime';
import { ScreenMirror } from './screen-mirror';

export interface TerminalViewer {
  /** Unique per connection and terminal, e.g. the socket id. */
  readonly id: string;
  readonly governsFlow: boolean;
  sendOutput(data: string): void;
  sendExit(exitCode: number, signal?: number): void;
  /** Viewers that do not govern flow do not size the terminal either; they are told its size. */
  sendResize?(cols: number, rows: number): void;
}

interface ViewerState {
  viewer: TerminalViewer;
  unackedChars: number;
  /** Output is withheld until the viewer catches up; then it gets a fresh screen. */
  lagging: boolean;
  /** A fresh screen is being made for this lagging viewer. */
  resyncing?: boolean;
}

export interface TerminalHooks {
  /** Input arrived: the sandbox is in use. */
  onActivity?(): void;
  onExit?(exitCode: number, signal?: number): void;
  /** The number of viewers changed (for the grace period of the sandbox). */
  onViewersChanged?(): void;
  /** Output chars, for metrics. */
  onOutput?(chars: number): void;
  /**
   * The first output after input (a keystroke's echo, for metrics): `shellMs` from the input to
   * its first output read from the pty (the pty, runc's console relay, the shell, the sandbox's
   * CPU, and lab-server reading the pty), `sendMs` from there to the batch that carried it going
   * to the viewers (batching and lab-server's event loop).
   */
  onEcho?(shellMs: number, sendMs: number): void;
}

/** A batch goes out at once above this size. */
const BATCH_CHARS = 64 * 1024;
/**
 * While output streams (the last batch was large and went out less than this long ago), new
 * output waits this long, so a flood goes out in a few large messages instead of one per pty
 * read. Anything else, such as a keystroke's echo, goes out at the end of the current tick.
 */
const STREAM_COALESCE_MS = 3;
const STREAM_BATCH_CHARS = 8 * 1024;
/** With nobody watching, a terminal keeps filling its mirror up to this much, then pauses. */
const UNWATCHED_BUDGET_CHARS = 256 * 1024;
/** Output later than this after input is not that input's echo (a program that prints on its own). */
const ECHO_WINDOW_MS = 5000;
/** RIS: resets a terminal before a snapshot is written into it. */
const RESET = '\x1bc';
/**
 * A terminal nobody has looked at yet keeps its output as it came, up to this much, and its first
 * viewer gets that instead of a snapshot from the mirror: replayed into a reset terminal it is
 * the screen (it is what a viewer attached from the start would have been sent). That keeps the
 * first attach of a lesson's terminal, and the claim of a warm sandbox, off the mirror's worker,
 * where 30 learners attaching at once waited for 30 snapshots one after another. A login shell's
 * banner and prompt are well under it.
 */
export const FIRST_SCREEN_MAX_CHARS = 16 * 1024;

export class LabTerminal implements Disposable {
  cols: number;
  rows: number;
  exit: { exitCode: number; signal?: number } | undefined;
  private readonly mirror: ScreenMirror;
  private readonly viewers = new Map<string, ViewerState>();
  private readonly subscriptions: Disposable[] = [];
  private batch = '';
  private flushScheduled = false;
  private lastFlushAt = 0;
  private lastFlushChars = 0;
  private paused = false;
  /** Reasons to keep the pty paused regardless of acks, e.g. while a snapshot is being taken. */
  private holds = 0;
  private unwatchedChars = 0;
  /** All output so far, while nobody has attached and it is small (see FIRST_SCREEN_MAX_CHARS); then undefined for good. */
  private firstScreen: string | undefined = '';
  private exiting = false;
  private disposed = false;
  /** When input went to the pty with no output since, and when the output that followed arrived (onEcho). */
  private inputAt: number | undefined;
  private echoAt: { inputAt: number; outputAt: number } | undefined;

  constructor(
    readonly id: string,
    readonly kind: TerminalKind,
    private readonly pty: PtyProcess,
    size: { cols: number; rows: number },
    private readonly hooks: TerminalHooks = {},
  ) {
    this.cols = size.cols;
    this.rows = size.rows;
    this.mirror = new ScreenMirror(size.cols, size.rows, () => this.updateFlow());
    this.subscriptions.push(
      pty.onData((data) => this.onPtyData(data)),
      pty.onExit(({ exitCode, signal }) => this.onPtyExit(exitCode, signal)),
    );
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The mirror has spent this terminal's CPU budget, so the pty waits (tests, metrics). */
  get mirrorThrottled(): boolean {
    return this.mirror.isThrottled;
  }

  /**
   * Adds a viewer and returns the current screen. The caller must deliver the snapshot before
   * any output: output is only sent from later event-loop turns, so replying in the same
   * continuation keeps the order.
   */
  async attach(viewer: TerminalViewer): Promise<string> {
    const firstScreen = this.takeFirstScreen();
    if (firstScreen !== undefined) {
      this.addViewer(viewer);
      this.updateFlow();
      this.hooks.onViewersChanged?.();
      return firstScreen;
    }
    this.holds++;
    this.updateFlow();
    try {
      this.flush();
      const snapshot = await this.mirror.snapshot();
      this.addViewer(viewer);
      return snapshot;
    } finally {
      this.holds--;
      this.updateFlow();
      this.hooks.onViewersChanged?.();
    }
  }

  detach(viewerId: string): void {
    if (this.viewers.delete(viewerId)) {
      this.updateFlow();
      this.hooks.onViewersChanged?.();
    }
  }


  write(data: string): void {
    if (this.exit || this.disposed) return;
    this.pty.write(data);
    this.inputAt ??= performance.now();
    this.hooks.onActivity?.();
  }

  resize(cols: number, rows: number): void {
    if (this.exit || this.disposed || (cols === this.cols && rows === this.rows)) return;
    this.cols = cols;
    this.rows = rows;
    this.pty.resize(cols, rows);
    this.mirror.resize(cols, rows);
    for (const state of this.viewers.values()) if (!state.viewer.governsFlow) state.viewer.sendResize?.(cols, rows);
  }

  ack(viewerId: string, chars: number): void {
    const state = this.viewers.get(viewerId);
    if (!state) return;
    state.unackedChars = Math.max(0, state.unackedChars - chars);
    if (state.lagging && state.unackedChars <= FLOW_CONTROL.lowWaterChars) this.resync(state);
    this.updateFlow();
  }


  /**
   * Ends the pty and frees the mirror. Quiet if already done. The default signal is the pty's
   * hang-up, which runc passes on to the shell; SIGKILL ends runc itself and leaves the shell to
   * whoever kills the container.
   */
  dispose(signal?: 'SIGKILL'): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const subscription of this.subscriptions) subscription.dispose();
    this.pty.kill(signal);
    this.mirror.dispose();
    this.viewers.clear();
  }

  private onPtyData(data: string): void {
    if (this.disposed) return;
    if (this.inputAt !== undefined) {
      const now = performance.now();
      if (now - this.inputAt < ECHO_WINDOW_MS) this.echoAt ??= { inputAt: this.inputAt, outputAt: now };
      this.inputAt = undefined;
    }
    this.batch += data;
    if (this.viewers.size === 0) this.unwatchedChars += data.length;
    if (this.batch.length >= BATCH_CHARS) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      const sinceLast = performance.now() - this.lastFlushAt;
      const streaming = this.lastFlushChars >= STREAM_BATCH_CHARS && sinceLast < STREAM_COALESCE_MS;
      if (streaming) setTimeout(() => this.flush(), STREAM_COALESCE_MS - sinceLast);
      else setImmediate(() => this.flush());
    }
  }

  private addViewer(viewer: TerminalViewer): void {
    this.viewers.set(viewer.id, { viewer, unackedChars: 0, lagging: false });
    this.unwatchedChars = 0;
  }

  /** The output so far, if this terminal has never had a viewer and it was small; never again after. */
  private takeFirstScreen(): string | undefined {
    this.flush();
    const firstScreen = this.firstScreen;
    this.firstScreen = undefined;
    return firstScreen;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.batch || this.disposed) return;
    const data = this.batch;
    this.batch = '';
    this.lastFlushAt = performance.now();
    this.lastFlushChars = data.length;
    this.mirror.write(data);
    if (this.firstScreen !== undefined) {
      this.firstScreen = this.firstScreen.length + data.length <= FIRST_SCREEN_MAX_CHARS ? this.firstScreen + data : undefined;
    }
    // The people typing first: under a broadcast a terminal has hundreds of followers, and the
    // instructor's own echo must not wait behind their sends.
    for (const owners of [true, false]) {
      for (const state of this.viewers.values()) {
        if (state.lagging || state.viewer.governsFlow !== owners) continue;
        state.viewer.sendOutput(data);
        state.unackedChars += data.length;
        if (!owners && state.unackedChars > FLOW_CONTROL.highWaterChars * 2) state.lagging = true;
      }
    }
    this.hooks.onOutput?.(data.length);
    if (this.echoAt) {
      this.hooks.onEcho?.(this.echoAt.outputAt - this.echoAt.inputAt, this.lastFlushAt - this.echoAt.outputAt);
      this.echoAt = undefined;
    }
    this.updateFlow();
  }

  /**
   * Sends a lagging viewer the current screen in place of the output it missed. It stays lagging
   * (gets no output) until the screen is there, so nothing is sent twice or lost in between.
   */
  private resync(state: ViewerState): void {
    if (state.resyncing) return;
    state.resyncing = true;
    this.flush();
    void this.mirror.snapshot().then((snapshot) => {
      state.resyncing = false;
      if (this.disposed || this.viewers.get(state.viewer.id) !== state) return;
      state.lagging = false;
      state.viewer.sendOutput(RESET + snapshot);
      state.unackedChars += RESET.length + snapshot.length;
    });
  }

  private updateFlow(): void {
    if (this.disposed || this.exiting) return;
    const behind = (viewerLimit: number, mirrorMark: 'high' | 'low') =>
      this.mirror.isBehind(mirrorMark) || [...this.viewers.values()].some((s) => s.viewer.governsFlow && s.unackedChars > viewerLimit);
    const unwatchedFull = this.viewers.size === 0 && this.unwatchedChars > UNWATCHED_BUDGET_CHARS;
    if (!this.paused && (this.holds > 0 || unwatchedFull || behind(FLOW_CONTROL.highWaterChars, 'high'))) {
      this.paused = true;
      this.pty.pause();
    } else if (this.paused && this.holds === 0 && !unwatchedFull && !behind(FLOW_CONTROL.lowWaterChars, 'low')) {
      this.paused = false;
      this.pty.resume();
    }
  }

  private onPtyExit(exitCode: number, signal?: number): void {
    if (this.exiting) return;
    this.exiting = true;
    // node-pty can report the exit before the last output has been read; let it arrive first.
    if (this.paused) this.pty.resume();
    setTimeout(() => {
      this.flush();
      this.exit = { exitCode, signal };
      for (const state of this.viewers.values()) state.viewer.sendExit(exitCode, signal);
      this.hooks.onExit?.(exitCode, signal);
    }, 20);
  }
}
