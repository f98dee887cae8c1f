/**
 * The instructor's spotlight on a learner whose sandbox is on another lab node. The instructor's
 * node asks every node (`isolab:spot-start` {channel, learner}); the learner's node spotlights the
 * learner's terminal with a relay viewer, so the learner sees the badge as for a local spotlight,
 * and publishes the terminal's output (cluster/terminal-stream.ts). The instructor's node views a
 * replica of it. Either side ending it ends the other: the instructor looks away
 * (`isolab:spot-end`), the learner's sandbox closes (the stream ends), or a node stops.
 */
import { randomBytes } from 'node:crypto';
import type { Mirror } from '../../../protocol';
import type { Classroom, RemoteSpotlight } from '../classroom/classroom';
import type { Ask, Emit, On, StreamSnapshot, TerminalStreams } from './terminal-stream';

type SpotlightAnswer = StreamSnapshot & { sandboxId: string };

export class SpotlightRelay {
  /** The spotlights this node serves for another node's instructor: channel → that node and the relay's viewer id. */
  private readonly served = new Map<string, { requester: string; viewerId: string }>();
  private classroom: Classroom | undefined;
  private emit: Emit = () => undefined;
  private ask: Ask = async () => [];

  constructor(
    private readonly nodeId: string,
    private readonly streams: TerminalStreams,
  ) {}

  attach(classroom: Classroom, emit: Emit, ask: Ask, on: On): void {
    this.classroom = classroom;
    this.emit = emit;
    this.ask = ask;
    on('isolab:spot-start', (channel: string, learnerSessionId: string, requester: string, answer: (found: SpotlightAnswer | null) => void) => {
      if (typeof channel !== 'string' || typeof learnerSessionId !== 'string') return answer(null);
      void this.serve(channel, learnerSessionId, String(requester)).then(answer, () => answer(null));
    });
    on('isolab:spot-end', (channel: string) => {
      const served = this.served.get(channel);
      if (served) this.classroom?.endSpotlight(served.viewerId);
    });
  }

  // ---- the instructor's node ----------------------------------------------------------------

  /** A replica of the learner's terminal on whichever node has it; undefined if none has. `ended` runs when it ends from the far side. */
  async spotlight(learnerSessionId: string, ended: () => void): Promise<RemoteSpotlight | undefined> {
    const channel = `spotlight-${randomBytes(6).toString('hex')}`;
    let sandboxId = '';
    const first = async () => {
      const found = (await this.ask<SpotlightAnswer | null>('isolab:spot-start', channel, learnerSessionId, this.nodeId)).find((answer) => answer);
      if (!found) return null;
      sandboxId = found.sandboxId;
      return found;
    };
    const replica = await this.streams.replicate(channel, first, ended);
    if (!replica) return undefined;
    return {
      terminal: replica.terminal,
      sandboxId,
      end: () => {
        this.emit('isolab:spot-end', channel);
        this.streams.drop(channel);
      },
    };
  }

  // ---- the learner's node -------------------------------------------------------------------

  private async serve(channel: string, learnerSessionId: string, requester: string): Promise<SpotlightAnswer | null> {
    const classroom = this.classroom;
    if (!classroom?.hasSandbox(learnerSessionId)) return null;
    const source = this.streams.publish(channel);
    let mirror: Mirror & { sandboxId: string };
    try {
      ({ mirror } = await classroom.spotlightHere(source.viewerId, learnerSessionId, (terminal) => source.viewer(terminal), () => {
        this.served.delete(channel);
        this.streams.unpublish(channel);
      }));
    } catch {
      this.streams.unpublish(channel);
      return null;
    }
    this.served.set(channel, { requester, viewerId: source.viewerId });
    return { node: this.nodeId, terminalId: mirror.terminalId, cols: mirror.cols, rows: mirror.rows, seq: 0, screen: mirror.snapshot, sandboxId: mirror.sandboxId };
  }

  /** `node` stopped: the spotlights its instructor had here end. */
  nodeGone(node: string): void {
    for (const served of [...this.served.values()]) if (served.requester === node) this.classroom?.endSpotlight(served.viewerId);
  }

  dispose(): void {
    for (const served of [...this.served.values()]) this.classroom?.endSpotlight(served.viewerId);
  }
}
