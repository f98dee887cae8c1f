/**
 * A terminal's output from one lab node copied to another: the instructor's broadcast (followed
 * on every node) and a spotlight on a learner of another node. Streams and screens never go
 * through Redis otherwise (cluster.ts).
 *
 * The node that has the terminal attaches one relay viewer to it and publishes its output once
 * per stream, numbered (`isolab:ts-out` {channel, seq, data}), within a byte budget. A node that
 * wants it keeps a replica: a LabTerminal of its own whose "pty" is that stream, so its viewers
 * get the same screen on attach, the same batching and the same fallback for a slow viewer as a
 * local terminal. A replica starts from the source's current screen and applies only later
 * output; a gap in `seq` (a message lost, or held back by the budget) fetches the screen again.
 */
import type { PtyProcess } from '../runtime/runtime';
import { LabTerminal, type TerminalViewer } from '../sandbox/terminal';
import { TokenBucket } from '../transport/token-bucket';

export interface StreamSnapshot {
  node: string;
  terminalId: string;
  cols: number;
  rows: number;
  /** The last output sequence number the screen includes. */
  seq: number;
  screen: string;
}

export type Ask = <T>(event: string, ...args: unknown[]) => Promise<T[]>;
export type Emit = (event: string, ...args: unknown[]) => void;
export type On = (event: string, listener: (...args: never[]) => void) => void;

/**
 * What one stream may put on Redis: a terminal flooding output (`yes`) must not flood every
 * node. Beyond it, output is held back and the replicas fetch the screen instead, at most every
 * RESYNC_MIN_MS: a copy may be a fraction of a second stale during a flood, never garbled.
 */
export const STREAM_BYTES_PER_SECOND = 256 * 1024;
export const STREAM_BURST_BYTES = 512 * 1024;
const RESYNC_MIN_MS = 500;

/** RIS, as LabTerminal's resync sends it: the copy's screen is replaced, not written over. */
const RESET = '\x1bc';

/** A pty that is a stream from another node: input and size changes go nowhere, output is what arrives. */
class RelayPty implements PtyProcess {
  readonly pid = 0;
  private readonly dataListeners = new Set<(data: string) => void>();
  private readonly exitListeners = new Set<(exit: { exitCode: number; signal?: number }) => void>();
  onData(listener: (data: string) => void) {
    this.dataListeners.add(listener);
    return { dispose: () => void this.dataListeners.delete(listener) };
  }
  onExit(listener: (exit: { exitCode: number; signal?: number }) => void) {
    this.exitListeners.add(listener);
    return { dispose: () => void this.exitListeners.delete(listener) };
  }
  push(data: string): void {
    for (const listener of this.dataListeners) listener(data);
  }
  exited(exitCode: number, signal?: number): void {
    for (const listener of this.exitListeners) listener({ exitCode, ...(signal ? { signal } : {}) });
  }
  write(): void {}
  resize(): void {}
  pause(): void {}
  resume(): void {}
  kill(): void {}
}

/** The publishing side of one stream. */
export class StreamSource {
  seq = 0;
  /** The relay viewer's id on the terminal. */
  readonly viewerId: string;
  private terminal: LabTerminal | undefined;
  private readonly budget = new TokenBucket(STREAM_BYTES_PER_SECOND, STREAM_BURST_BYTES);
  /** Output was held back: tell the replicas the number they missed once the budget allows. */
  private markTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** Numbers the snapshot viewers: two nodes may ask for the screen at the same moment. */
  private snapshots = 0;

  constructor(
    readonly channel: string,
    private readonly emit: Emit,
    private readonly nodeId: string,
  ) {
    this.viewerId = `cluster-${channel}`;
  }

  /** The relay viewer to attach to the terminal; attach()'s screen is the screen at seq 0. */
  viewer(terminal: LabTerminal): TerminalViewer {
    this.terminal = terminal;
    const id = this.viewerId;
    return {
      id,
      governsFlow: false,
      sendOutput: (data) => {
        this.seq++;
        if (this.budget.take(data.length)) this.emit('isolab:ts-out', this.channel, this.seq, data);
        else this.markLater();
        // Publishing does not wait for anyone: the relay never lags, slow viewers fall back on their own node.
        queueMicrotask(() => terminal.ack(id, data.length));
      },
      sendExit: (exitCode, signal) => this.end(exitCode, signal),
      sendResize: (cols, rows) => this.emit('isolab:ts-resize', this.channel, cols, rows),
    };
  }

  /** The current screen and the last output it includes, for a replica to start again from. */
  async snapshot(): Promise<StreamSnapshot | null> {
    const terminal = this.terminal;
    if (!terminal || this.ended) return null;
    const viewerId = `cluster-snapshot-${this.channel}-${++this.snapshots}`;
    // attach() sends what is batched (numbered here), then holds the pty while it reads the
    // screen: the screen holds exactly the output numbered up to `seq` as read right here.
    const attached = terminal.attach({ id: viewerId, governsFlow: false, sendOutput: () => undefined, sendExit: () => undefined });
    const seq = this.seq;
    const screen = await attached;
    terminal.detach(viewerId);
    return { node: this.nodeId, terminalId: terminal.id, cols: terminal.cols, rows: terminal.rows, seq, screen };
  }

  /** The stream ends: the terminal exited, or nobody wants it any more. Replicas are told once. */
  end(exitCode?: number, signal?: number): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.markTimer);
    this.terminal?.detach(this.viewerId);
    this.emit('isolab:ts-end', this.channel, exitCode ?? null, signal ?? null);
  }

  private markLater(): void {
    if (this.markTimer) return;
    this.markTimer = setTimeout(() => {
      this.markTimer = undefined;
      if (!this.ended) this.emit('isolab:ts-mark', this.channel, this.seq);
    }, RESYNC_MIN_MS);
    this.markTimer.unref();
  }
}

/** The copying side of one stream: a terminal whose output is the stream. */
export class StreamReplica {
  readonly terminal: LabTerminal;
  /** The node the stream comes from. */
  readonly node: string;
  private readonly pty = new RelayPty();
  private seq: number;
  /** While a screen to start again from is on its way: the output that arrives meanwhile. */
  private seeding: Array<{ seq: number; data: string }> | undefined;
  private lastResyncAt = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(
    readonly channel: string,
    first: StreamSnapshot,
    private readonly fetch: () => Promise<StreamSnapshot | null>,
    /** The source is gone or cannot be reached: the owner drops the replica. */
    private readonly lost: () => void,
    early: Array<{ seq: number; data: string }> = [],
  ) {
    this.node = first.node;
    this.terminal = new LabTerminal(first.terminalId, 'run', this.pty, { cols: first.cols, rows: first.rows });
    this.seq = first.seq;
    this.pty.push(RESET + first.screen);
    for (const message of early) this.output(message.seq, message.data);
  }

  output(seq: number, data: string): void {
    if (this.disposed) return;
    if (this.seeding) {
      this.seeding.push({ seq, data });
      return;
    }
    if (seq <= this.seq) return;
    if (seq !== this.seq + 1) return this.resync();
    this.seq = seq;
    this.pty.push(data);
  }

  /** The source says how far it is: output held back by its budget is fetched as a screen. */
  mark(seq: number): void {
    if (!this.seeding && seq > this.seq) this.resync();
  }

  resize(cols: number, rows: number): void {
    this.terminal.resize(cols, rows);
  }

  ended(exitCode: number | null, signal: number | null): void {
    if (exitCode !== null) this.pty.exited(exitCode, signal ?? undefined);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.resyncTimer);
    this.terminal.dispose();
  }

  /** Starts again from the source's screen, at most every RESYNC_MIN_MS. */
  private resync(): void {
    if (this.seeding || this.resyncTimer || this.disposed) return;
    const wait = this.lastResyncAt + RESYNC_MIN_MS - Date.now();
    if (wait > 0) {
      this.resyncTimer = setTimeout(() => {
        this.resyncTimer = undefined;
        this.resync();
      }, wait);
      this.resyncTimer.unref();
      return;
    }
    this.lastResyncAt = Date.now();
    this.seeding = [];
    void this.fetch().then(
      (snapshot) => this.reseed(snapshot),
      () => this.reseed(null),
    );
  }

  private reseed(snapshot: StreamSnapshot | null): void {
    const early = this.seeding ?? [];
    this.seeding = undefined;
    if (this.disposed) return;
    if (!snapshot) return this.lost();
    this.terminal.resize(snapshot.cols, snapshot.rows);
    this.pty.push(RESET + snapshot.screen);
    this.seq = snapshot.seq;
    for (const message of early) this.output(message.seq, message.data);
  }
}

/** A replica whose source exited is kept this long, so its viewers get the exit (LabTerminal delivers it after 20 ms). */
const EXIT_DELIVERY_MS = 100;

/** This node's streams: the ones it publishes and the ones it copies, by channel. */
export class TerminalStreams {
  private readonly sources = new Map<string, StreamSource>();
  private readonly replicas = new Map<string, { replica: StreamReplica; ended: () => void }>();
  /** Channels whose first screen is on its way: the output that arrives meanwhile. */
  private readonly pending = new Map<string, Array<{ seq: number; data: string }>>();
  private emit: Emit = () => undefined;
  private ask: Ask = async () => [];

  constructor(private readonly nodeId: string) {}

  attach(emit: Emit, ask: Ask, on: On): void {
    this.emit = emit;
    this.ask = ask;
    on('isolab:ts-out', (channel: string, seq: number, data: string) => {
      const early = this.pending.get(channel);
      if (early) early.push({ seq, data });
      else this.replicas.get(channel)?.replica.output(seq, data);
    });
    on('isolab:ts-mark', (channel: string, seq: number) => this.replicas.get(channel)?.replica.mark(seq));
    on('isolab:ts-resize', (channel: string, cols: number, rows: number) => this.replicas.get(channel)?.replica.resize(cols, rows));
    on('isolab:ts-end', (channel: string, exitCode: number | null, signal: number | null) => {
      const entry = this.replicas.get(channel);
      if (!entry) return;
      entry.replica.ended(exitCode, signal);
      setTimeout(() => this.drop(channel), exitCode === null ? 0 : EXIT_DELIVERY_MS).unref();
    });
    on('isolab:ts-snapshot', (channel: string, answer: (snapshot: StreamSnapshot | null) => void) => {
      const source = this.sources.get(channel);
      if (!source) return answer(null);
      source.snapshot().then(answer, () => answer(null));
    });
  }

  /** Starts publishing a stream: attach the returned source's viewer to the terminal. */
  publish(channel: string): StreamSource {
    this.unpublish(channel);
    const source = new StreamSource(channel, this.emit, this.nodeId);
    this.sources.set(channel, source);
    return source;
  }

  unpublish(channel: string): void {
    this.sources.get(channel)?.end();
    this.sources.delete(channel);
  }

  /**
   * Copies a stream another node publishes, starting from `first` (a screen it answers with);
   * undefined if no node has it. `ended` runs once when the copy ends: its source ended, or its
   * node stopped, or it was dropped here.
   */
  async replicate(channel: string, first: () => Promise<StreamSnapshot | null>, ended: () => void): Promise<StreamReplica | undefined> {
    const existing = this.replicas.get(channel);
    if (existing) return existing.replica;
    if (this.pending.has(channel)) return undefined;
    this.pending.set(channel, []);
    const snapshot = await first().catch(() => null);
    const early = this.pending.get(channel) ?? [];
    this.pending.delete(channel);
    if (!snapshot) return undefined;
    const replica = new StreamReplica(channel, snapshot, () => this.snapshotOf(channel), () => this.drop(channel), early);
    this.replicas.set(channel, { replica, ended });
    return replica;
  }

  /** The current screen of a stream, from whichever node publishes it. */
  async snapshotOf(channel: string): Promise<StreamSnapshot | null> {
    // ask() never rejects: a node that does not answer counts as none.
    return (await this.ask<StreamSnapshot | null>('isolab:ts-snapshot', channel)).find((answer) => answer) ?? null;
  }

  drop(channel: string): void {
    const entry = this.replicas.get(channel);
    if (!entry) return;
    this.replicas.delete(channel);
    entry.replica.dispose();
    entry.ended();
  }

  /** `node` stopped: every copy of its streams ends. */
  dropFrom(node: string): void {
    for (const [channel, { replica }] of this.replicas) if (replica.node === node) this.drop(channel);
  }

  dispose(): void {
    for (const channel of [...this.sources.keys()]) this.unpublish(channel);
    for (const channel of [...this.replicas.keys()]) this.drop(channel);
  }
}
