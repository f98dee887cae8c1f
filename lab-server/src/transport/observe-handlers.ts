/**
 * Handlers for observing a sandbox: meters, host view, namespace map.
 *
 * Subscribing looks the sandbox up through the caller's session, so another learner's sandbox
 * cannot be watched: it answers NOT_FOUND, exactly like an id that does not exist. A connection's
 * subscriptions end with it.
 */
import { OBSERVE_INTERVAL_MS } from '../../../protocol';
import type { Observatory } from '../observe/observatory';
import type { Lab } from '../sandbox/lab';
import type { HandlerSet, LabSocket } from './handler-types';

export function observeHandlers(lab: Lab, observatory: Observatory): HandlerSet {
  return {
    requests: {
      'observe:subscribe': (socket, { sandboxId, views }) => {
        const sandbox = lab.find(socket.data.session.id, sandboxId);
        const backlog = backlogOf(socket);
        const taking = () => backlog.packets <= OBSERVE_BACKLOG_PACKETS;
        observatory.watch(sandbox, socket.id, [...new Set(views)], {
          meters: (sample) => taking() && socket.emit('observe:meters', { sandboxId, sample }),
          event: (event) => socket.emit('observe:event', { sandboxId, event }),
          hostView: (hostView) => taking() && socket.emit('observe:host-view', { sandboxId, hostView }),
          nsMap: (nsMap) => taking() && socket.emit('observe:ns-map', { sandboxId, nsMap }),
        });
        socket.data.scope.hold(subscription(sandboxId), () => observatory.unwatch(sandboxId, socket.id));
        return { cgroupVersion: observatory.cgroupVersion, intervalMs: OBSERVE_INTERVAL_MS };
      },

      'observe:unsubscribe': (socket, { sandboxId }) => {
        socket.data.scope.release(subscription(sandboxId));
        return {};
      },
    },
    messages: {},
  };
}

const subscription = (sandboxId: string) => `observe:${sandboxId}`;

/**
 * Readings are skipped while more packets than this wait to go out on the connection. Terminal
 * output is held back by acks, but readings are pushed every second; without a cap, a client
 * that stops reading would have lab-server queue host views (up to tens of KB each) for as long
 * as the sandbox lives.
 */
export const OBSERVE_BACKLOG_PACKETS = 64;

const backlogs = new WeakMap<LabSocket, OutgoingBacklog>();

/** One count per connection, for all its subscriptions, ended with the connection. */
function backlogOf(socket: LabSocket): OutgoingBacklog {
  let backlog = backlogs.get(socket);
  if (!backlog) {
    const made = new OutgoingBacklog(socket.conn);
    backlogs.set(socket, made);
    socket.data.scope.hold('observe:backlog', () => made.dispose());
    backlog = made;
  }
  return backlog;
}

/** What the connection needs of engine.io's socket: it says when packets are queued and when they leave the queue. */
interface PacketEvents {
  on(event: 'packetCreate' | 'flush', listener: (arg: unknown) => void): unknown;
  off(event: 'packetCreate' | 'flush', listener: (arg: unknown) => void): unknown;
}

/**
 * Packets engine.io holds for a connection that its transport has not taken yet. The transport
 * takes the next batch only once the last one reached the kernel, so a client that stops reading
 * makes this grow. Counted from engine.io's public events (its buffer itself is private).
 */
export class OutgoingBacklog {
  packets = 0;
  private readonly created = () => void this.packets++;
  private readonly flushed = (batch: unknown) => void (this.packets = Math.max(0, this.packets - (batch as unknown[]).length));

  constructor(private readonly connection: PacketEvents) {
    connection.on('packetCreate', this.created);
    connection.on('flush', this.flushed);
  }

  dispose(): void {
    this.connection.off('packetCreate', this.created);
    this.connection.off('flush', this.flushed);
  }
}
