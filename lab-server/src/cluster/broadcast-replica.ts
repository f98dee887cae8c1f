/**
 * The instructor's broadcast across lab nodes. The node running the broadcast terminal publishes
 * its output once (cluster/terminal-stream.ts) and says so (`isolab:bc-start` {channel}); every
 * other node keeps a replica of that stream, and its learners follow the replica exactly as they
 * follow a local broadcast (classroom.follow): the same screen on join, the same fallback for a
 * slow follower. One copy of the stream crosses between nodes, not one per follower.
 */
import { randomBytes } from 'node:crypto';
import type { Classroom } from '../classroom/classroom';
import type { Logger } from '../log';
import type { LabTerminal } from '../sandbox/terminal';
import type { Ask, Emit, On, TerminalStreams } from './terminal-stream';

export class BroadcastRelay {
  /** This node's broadcast, published to the others. */
  private published: string | undefined;
  /** The channel of another node's broadcast, copied here. */
  private following: string | undefined;
  private classroom: Classroom | undefined;
  private emit: Emit = () => undefined;
  private ask: Ask = async () => [];

  constructor(
    private readonly streams: TerminalStreams,
    private readonly logger: Logger,
  ) {}

  attach(classroom: Classroom, emit: Emit, ask: Ask, on: On): void {
    this.classroom = classroom;
    this.emit = emit;
    this.ask = ask;
    on('isolab:bc-start', (channel: string) => this.follow(channel));
    on('isolab:bc-current', (answer: (channel: string | null) => void) => answer(this.published ?? null));
    // A node that starts while a broadcast runs elsewhere follows it at once.
    void this.ask<string | null>('isolab:bc-current').then((answers) => {
      const channel = answers.find((answer) => answer);
      if (channel) this.follow(channel);
    });
  }

  // ---- the broadcasting node ----------------------------------------------------------------

  started(terminal: LabTerminal): void {
    this.stopped();
    const channel = `broadcast-${randomBytes(4).toString('hex')}`;
    this.published = channel;
    const source = this.streams.publish(channel);
    terminal.attach(source.viewer(terminal)).then(
      () => this.published === channel && this.emit('isolab:bc-start', channel),
      // The terminal ended meanwhile: the classroom stops the broadcast with it.
      (error: unknown) => this.logger.warn('the broadcast could not be relayed to the other lab nodes', { err: error }),
    );
  }

  /** Ends the published stream: every replica of it ends, and its followers with it. */
  stopped(): void {
    if (!this.published) return;
    this.streams.unpublish(this.published);
    this.published = undefined;
  }

  // ---- the other nodes ----------------------------------------------------------------------

  private follow(channel: string): void {
    if (this.following === channel) return;
    if (this.following) this.streams.drop(this.following);
    this.following = channel;
    const ended = () => {
      if (this.following !== channel) return;
      this.following = undefined;
      this.classroom?.dropReplica();
    };
    this.streams.replicate(channel, () => this.streams.snapshotOf(channel), ended).then(
      (replica) => {
        if (!replica) return ended();
        if (this.following !== channel) return;
        this.classroom?.followReplica(replica.terminal);
        this.logger.info('following the broadcast of another lab node', { node: replica.node, terminalId: replica.terminal.id });
      },
      (error: unknown) => this.logger.warn('the broadcast of another lab node could not be followed', { err: error }),
    );
  }

  dispose(): void {
    this.stopped();
    if (this.following) this.streams.drop(this.following);
  }
}
