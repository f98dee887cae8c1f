/**
 * Terminal 1 opened before its xterm exists. On a lesson opened by its address the sandbox
 * answers while xterm.js (the largest chunk of the page) is still loading; waiting for it before
 * `terminal:open` put the terminal's round trip and the shell's first output after the page's
 * whole load. So the connection opens terminal 1 at once (sandbox-connection.ts), or takes over
 * the open the page's head start sent before any of Next's code ran (head-start-script.ts, with
 * the output it held), the output that comes before xterm is held here, and the OwnedTerminal
 * takes the open over when it mounts: the snapshot first, then what was held, in order, then the
 * live stream.
 *
 * Flow control is the server's as always: output is acknowledged only once xterm has written it,
 * so while nothing is on screen lab-server stops the pty at its high-water mark and what is held
 * stays small. The bound here is for a server that would not stop; past it the held output is
 * dropped and the OwnedTerminal attaches again, which replays the screen as a snapshot (and the
 * server starts counting that viewer afresh).
 *
 * Plain TypeScript without xterm.js, so it loads with the connection, ahead of the terminal's code.
 */
import type { AskedTerminal, LabClient, ReceivedEvent } from '../../lib/lab-client';
import type { RequestResult } from '../../protocol/catalog';
import type { TerminalSize } from '../../protocol/common';
import { FLOW_CONTROL } from '../../protocol/flow-control';
import { OutputStream, type OutputSink } from './output-stream';

export type TerminalOpened = RequestResult<'terminal:open'>;

/** The size a terminal opens at before xterm has measured its pane; it is resized after. */
export const EARLY_TERMINAL_SIZE: TerminalSize = { cols: 80, rows: 24 };

/**
 * Four times what lab-server lets an owner leave unacknowledged (its high-water mark, plus the
 * batch in flight when it pauses), so only a server that ignores flow control reaches it.
 */
export const HELD_OUTPUT_MAX_CHARS = FLOW_CONTROL.highWaterChars * 4;

/**
 * Output kept in order until `release()` names the terminal it goes to; after that it passes
 * straight through. Each piece keeps its `written` callback, so it is acknowledged only once it
 * is really on screen.
 */
export class HeldOutput implements OutputSink {
  private held: Array<{ data: string; written?: () => void }> = [];
  private heldChars = 0;
  private target: OutputSink | undefined;
  private overflowed = false;

  constructor(private readonly maxChars = HELD_OUTPUT_MAX_CHARS) {}

  /** What was held is gone (it outgrew its bound before it came here). */
  lose(): void {
    this.overflowed = true;
    this.held = [];
    this.heldChars = 0;
  }

  /** Chars held now (tests). */
  get chars(): number {
    return this.heldChars;
  }

  /** More came than the bound allows: what was held is gone, and the screen has to be fetched again. */
  get lost(): boolean {
    return this.overflowed;
  }

  write(data: string, written?: () => void): void {
    if (this.target) {
      this.target.write(data, written);
      return;
    }
    if (this.overflowed) return;
    if (this.heldChars + data.length > this.maxChars) {
      // Not acknowledged, so the server pauses the pty; the re-attach's snapshot has the screen.
      this.lose();
      return;
    }
    this.held.push({ data, written });
    this.heldChars += data.length;
  }

  /** Writes what was held into `target`, in order, and everything after it too. */
  release(target: OutputSink): void {
    if (this.target || this.overflowed) return;
    const held = this.held;
    this.held = [];
    this.heldChars = 0;
    this.target = target;
    for (const { data, written } of held) target.write(data, written);
  }
}

/**
 * One `terminal:open` sent ahead of its xterm, with its output held. Exactly one OwnedTerminal
 * takes it over (`adopt`), or it is disposed, which stops its listeners.
 */
export class EarlyTerminal {
  /** The server's answer; a refusal is for the OwnedTerminal to show. */
  readonly opened: Promise<TerminalOpened>;
  private readonly held = new HeldOutput();
  private stream: OutputStream | undefined;
  private exit: { exitCode: number | null } | undefined;
  private onExit: ((exitCode: number | null) => void) | undefined;
  private disposed = false;

  constructor(
    readonly client: LabClient,
    sandboxId: string,
    terminalId: string | undefined,
    /** The size it is opened at, for the OwnedTerminal to correct. */
    readonly size: TerminalSize = EARLY_TERMINAL_SIZE,
    /** Sent already by the page's head start (head-start-script.ts): taken over, not asked again. */
    asked?: AskedTerminal,
  ) {
    if (asked) {
      // What the head start held goes first; the stream listens from here on, in the same turn.
      const { events, lost } = asked.take();
      if (lost) this.held.lose();
      this.stream = this.streamOf(asked.terminalId, events);
      this.opened = client.terminalOpened(asked);
      this.opened.catch(() => this.stream?.dispose());
    } else {
      const payload = { sandboxId, ...size, ...(terminalId ? { terminalId } : {}) };
      // The stream starts where the answer is read, before any output the server sent after it
      // (which, read in the same turn, would come before a continuation of the promise).
      this.opened = client.request('terminal:open', payload, undefined, (answer) => {
        if (answer.ok && !this.disposed) this.stream = this.streamOf(answer.value.terminalId);
      });
    }
    // Whoever adopts it reads the refusal; until then it is not an unhandled one.
    this.opened.catch(() => undefined);
  }

  /** Terminal 1's attach as the page's head start sent it (LabClient.takeAskedTerminal), at the size it asked for. */
  static taking(client: LabClient, asked: AskedTerminal): EarlyTerminal {
    return new EarlyTerminal(client, asked.sandboxId, asked.terminalId, { cols: asked.cols, rows: asked.rows }, asked);
  }

  private streamOf(terminalId: string, earlier?: ReceivedEvent[]): OutputStream {
    return new OutputStream(this.client, terminalId, this.held, { onExit: (exitCode) => (this.onExit ? this.onExit(exitCode) : (this.exit = { exitCode })) }, earlier);
  }

  /**
   * Hands the stream to the terminal that will show it: what was held is written into `sink`
   * (after whatever the caller wrote there first: the snapshot), and the rest follows. Undefined
   * when there is nothing to take over (not answered yet, disposed, or the held output outgrew
   * its bound): then the caller attaches the usual way. `onExit` is told of an exit, also of one
   * that came while xterm was loading, after that output.
   */
  adopt(sink: OutputSink, onExit: (exitCode: number | null) => void): OutputStream | undefined {
    const stream = this.stream;
    if (this.disposed || !stream || this.held.lost) {
      this.dispose();
      return undefined;
    }
    this.stream = undefined;
    this.disposed = true;
    this.held.release(sink);
    this.onExit = onExit;
    if (this.exit) sink.write('', () => onExit(this.exit!.exitCode));
    return stream;
  }

  /** Nobody will show it (the socket dropped, the sandbox ended, the page went away). */
  dispose(): void {
    this.disposed = true;
    this.stream?.dispose();
    this.stream = undefined;
  }
}
