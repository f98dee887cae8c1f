/**
 * The instructor's broadcast across lab nodes. The node running the broadcast terminal attaches
 * one relay viewer to it and publishes its output once (`isolab:bc-out` {seq, data}); every
 * other node keeps a replica: a LabTerminal of its own whose "pty" is that stream. Its learners
 * follow the replica exactly as they follow a local broadcast (classroom.follow), with the same
 * screen on join and the same fallback for a slow follower, and one copy of the stream crosses
 * between nodes, not one per follower. A replica starts from the broadcaster's current screen
 * (`isolab:bc-snapshot`) and applies only later output; a gap in `seq` fetches the screen again.
 */
import { randomBytes } from 'node:crypto';
import type { Classroom } from '../classroom/classroom';
import type { Logger } from '../log';
import type { PtyProcess } from '../runtime/runtime';
import { LabTerminal, type TerminalViewer } from '../sandbox/terminal';

interface Snapshot {
  node: string;
  terminalId: string;
  cols: number;
  rows: number;
  /** The last output sequence number the screen includes. */
  seq: number;
  screen: string;
}

/** RIS, as LabTerminal's resync sends it: the copy's screen is replaced, not written over. */
const RESET = '\x1bc';

type Ask = <T>(event: string, ...args: unknown[]) => Promise<T[]>;
type Emit = (event: string, ...args: unknown[]) => void;

/** A pty that is a stream from another node: input and size changes go nowhere, output is what arrives. */
class RelayPty implements PtyProcess {
  readonly pid = 0;
  private readonly listeners = new Set<(data: string) => void>();
  onData(listener: (data: string) => void) {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }
  onExit() {
    return { dispose: () => undefined };
  }
  push(data: string): void {
    for (const listener of this.listeners) listener(data);
  }
  write(): void {}
  resize(): void {}
  pause(): void {}
  resume(): void {}
  kill(): void {}
}

export class BroadcastRelay {
  /** This node's broadcast, published to the others. */
  private source: { terminal: LabTerminal; seq: number; viewerId: string } | undefined;
  /** Another node's broadcast, copied here. */
  private replica: { node: string; terminal: LabTerminal; pty: RelayPty; seq: number } | undefined;
  /** While the screen to start from is on its way: the output that arrives meanwhile. */
  private seeding: Array<{ seq: number; data: string }> | undefined;
  private classroom: Classroom | undefined;
  private emit: Emit = () => undefined;
  private ask: Ask = async () => [];

  constructor(
    private readonly nodeId: string,
    private readonly logger: Logger,
  ) {}

  attach(classroom: Classroom, emit: Emit, ask: Ask, on: (event: string, listener: (...args: never[]) => void) => void): void {
    this.classroom = classroom;
    this.emit = emit;
    this.ask = ask;
    on('isolab:bc-start', () => this.startFollowing());
    on('isolab:bc-stop', (node: string) => this.drop(node));
    on('isolab:bc-out', (seq: number, data: string) => this.output(seq, data));
    on('isolab:bc-resize', (cols: number, rows: number) => this.replica?.terminal.resize(cols, rows));
    on('isolab:bc-snapshot', (answer: (snapshot: Snapshot | null) => void) => void this.snapshot().then(answer, () => answer(null)));
    // A node that starts while a broadcast runs elsewhere follows it at once.
    this.startFollowing();
  }

  // ---- the broadcasting node ----------------------------------------------------------------

  started(terminal: LabTerminal): void {
    this.stopped();
    const source = { terminal, seq: 0, viewerId: `cluster-relay-${randomBytes(4).toString('hex')}` };
    this.source = source;
    const relay: TerminalViewer = {
      id: source.viewerId,
      governsFlow: false,
      sendOutput: (data) => {
        this.emit('isolab:bc-out', ++source.seq, data);
        // Publishing does not wait for anyone: the relay never lags, slow followers fall back on their own node.
        queueMicrotask(() => terminal.ack(source.viewerId, data.length));
      },
      sendExit: () => undefined,
      sendResize: (cols, rows) => this.emit('isolab:bc-resize', cols, rows),
    };
    terminal.attach(relay).then(
      () => this.emit('isolab:bc-start'),
      // The terminal ended meanwhile: the classroom stops the broadcast with it.
      (error: unknown) => this.logger.warn('the broadcast could not be relayed to the other lab nodes', { err: error }),
    );
  }

  stopped(): void {
    if (!this.source) return;
    this.source.terminal.detach(this.source.viewerId);
    this.source = undefined;
    this.emit('isolab:bc-stop', this.nodeId);
  }

  /** The current screen and the last output it includes, for a replica to start from. */
  private async snapshot(): Promise<Snapshot | null> {
    const source = this.source;
    if (!source) return null;
    const { terminal } = source;
    const viewerId = `cluster-snapshot-${randomBytes(4).toString('hex')}`;
    // attach() sends what is batched, then asks the mirror for the screen in the same turn:
    // the screen holds exactly the output numbered up to `seq` as read right here.
    const attached = terminal.attach({ id: viewerId, governsFlow: false, sendOutput: () => undefined, sendExit: () => undefined });
    const seq = source.seq;
    const screen = await attached;
    terminal.detach(viewerId);
    return { node: this.nodeId, terminalId: terminal.id, cols: terminal.cols, rows: terminal.rows, seq, screen };
  }

  // ---- the other nodes ----------------------------------------------------------------------

  private startFollowing(): void {
    this.follow().catch((error: unknown) => this.logger.warn("the broadcast of another lab node could not be followed", { err: error }));
  }

  /** Starts (or restarts) the replica from the broadcasting node's current screen. */
  private async follow(): Promise<void> {
    if (this.seeding) return;
    this.seeding = [];
    // ask() never rejects: a node that does not answer counts as none.
    const snapshot = (await this.ask<Snapshot | null>('isolab:bc-snapshot')).find((answer) => answer !== null);
    const early = this.seeding;
    this.seeding = undefined;
    if (!snapshot) {
      if (this.replica) this.drop(this.replica.node);
      return;
    }
    let replica = this.replica;
    if (!replica || replica.terminal.id !== snapshot.terminalId) {
      if (replica) this.drop(replica.node);
      const pty = new RelayPty();
      const terminal = new LabTerminal(snapshot.terminalId, 'run', pty, { cols: snapshot.cols, rows: snapshot.rows });
      replica = { node: snapshot.node, terminal, pty, seq: 0 };
      this.replica = replica;
    }
    replica.terminal.resize(snapshot.cols, snapshot.rows);
    replica.pty.push(RESET + snapshot.screen);
    replica.seq = snapshot.seq;
    for (const message of early) this.output(message.seq, message.data);
    this.classroom?.followReplica(replica.terminal);
    this.logger.info('following the broadcast of another lab node', { node: snapshot.node, terminalId: snapshot.terminalId });
  }

  private output(seq: number, data: string): void {
    if (this.seeding) {
      this.seeding.push({ seq, data });
      return;
    }
    const replica = this.replica;
    if (!replica) return this.startFollowing();
    if (seq <= replica.seq) return;
    if (seq !== replica.seq + 1) {
      // A message was lost (Redis restarted, say): the screen again, rather than a garbled one.
      this.startFollowing();
      return;
    }
    replica.seq = seq;
    replica.pty.push(data);
  }

  /** The broadcast of `node` ended, or `node` stopped. */
  drop(node: string): void {
    const replica = this.replica;
    if (!replica || replica.node !== node) return;
    this.replica = undefined;
    this.classroom?.dropReplica();
    replica.terminal.dispose();
  }

  dispose(): void {
    this.stopped();
    if (this.replica) this.drop(this.replica.node);
  }
}
