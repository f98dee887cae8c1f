/**
 * The socket.io edge of lab-server: the handshake decides who connects (handshake.ts), every
 * inbound event goes through one dispatcher (dispatch.ts), and each connection gets one scope
 * (connection-scope.ts) that owns what it views and subscribes to and is disposed once when it
 * goes.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type ExtendedError } from 'socket.io';
import { PROTOCOL_VERSION, type ClientToServerEvents, type ServerToClientEvents } from '../../../protocol';
import { loopStalls } from '../loop-stalls';
import type { Lab } from '../sandbox/lab';
import { ConnectionScope } from './connection-scope';
import { createDispatch } from './dispatch';
import type { HandlerSet, LabSocket, SocketData } from './handler-types';
import { handshake, type HandshakeOptions } from './handshake';

export interface SocketServerOptions extends HandshakeOptions {
  lab: Lab;
  /** The handlers of every feature; together they must cover the whole protocol. */
  handlers: HandlerSet[];
  /** Several lab nodes (cluster/wiring.ts): where sessions live; absent on a lab of one node. */
  cluster?: ClusterGate;
}

export type Middleware = (socket: LabSocket, next: (error?: ExtendedError) => void) => void;

export interface ClusterGate {
  nodeId: string;
  /** socket.io's adapter over Redis, so room emits reach every node. */
  adapter: Parameters<Server['adapter']>[0];
  /** Before the handshake: takes in a token another node issued. */
  beforeHandshake: Middleware;
  /** After it: sends the session to its home node, or makes this node its home. */
  afterHandshake: Middleware;
}

/** The largest socket.io message: a 64k-char paste in JSON, with room to spare. */
const MAX_MESSAGE_BYTES = 512 * 1024;

const PING_INTERVAL_MS = 10_000;
export const PING_TIMEOUT_MS = 10_000;

/** The part of engine.io's socket (engine.io 6) that its ping timeout uses. */
interface EngineSocket {
  onClose(reason: string, ...rest: unknown[]): void;
  resetPingTimeout(): void;
}

/**
 * After lab-server's own loop stalled, a pong may be waiting unread while engine.io's ping
 * timer fires first (timers run before I/O in a loop turn), and the learner would be dropped for
 * lab-server's fault. So a ping timeout is forgiven, once per stall, when the loop stalled
 * during the ping's wait: the client gets another full wait to answer. A client that is really
 * gone still times out on the next one.
 */
function spareStalledPings(raw: EngineSocket): void {
  const close = raw.onClose.bind(raw);
  let sparedAt = 0;
  raw.onClose = (reason, ...rest) => {
    const waitStartedAt = Date.now() - PING_TIMEOUT_MS;
    if (reason === 'ping timeout' && sparedAt < waitStartedAt && loopStalls.stalledSince(waitStartedAt) > 0) {
      sparedAt = Date.now();
      raw.resetPingTimeout();
      return;
    }
    close(reason, ...rest);
  };
}

export function createSocketServer(httpServer: HttpServer, options: SocketServerOptions) {
  const { lab, limits, logger, metrics } = options;
  const dispatch = createDispatch(options.handlers, logger, metrics);

  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(httpServer, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    cors: { origin: options.allowedOrigins, credentials: false },
    pingInterval: PING_INTERVAL_MS,
    pingTimeout: PING_TIMEOUT_MS,
    ...(options.cluster ? { adapter: options.cluster.adapter } : {}),
  });
  io.engine.on('connection', (raw: EngineSocket) => spareStalledPings(raw));
  if (options.cluster) io.use(options.cluster.beforeHandshake);
  io.use(handshake(options));
  if (options.cluster) io.use(options.cluster.afterHandshake);

  io.on('connection', (socket) => {
    const { session, address } = socket.data;
    limits.connected(address, session.id);
    session.connections++;
    const scope = (socket.data.scope = new ConnectionScope(socket.id));
    void socket.join(sessionRoom(session.id));
    if (socket.data.role === 'learner') void socket.join(LEARNERS_ROOM);
    socket.emit('session', {
      token: socket.data.token,
      sessionId: session.id,
      displayName: session.displayName,
      protocolVersion: PROTOCOL_VERSION,
      isNew: socket.data.isNew,
      ...(options.cluster ? { node: options.cluster.nodeId } : {}),
      ...(socket.data.homeLost ? { homeLost: true } : {}),
    });
    socket.onAny((event: string, ...args: unknown[]) => dispatch(socket, event, args));
    for (const handlers of options.handlers) handlers.onConnect?.(socket);
    socket.on('disconnect', () => {
      session.connections--;
      session.lastSeenAt = Date.now();
      limits.disconnected(address, session.id);
      scope.dispose();
    });
  });

  lab.onSandboxClosed((sandbox, reason, message) => {
    limits.sandboxClosed(sandbox.id);
    io.to(sessionRoom(sandbox.ownerSessionId)).emit('sandbox:closed', { sandboxId: sandbox.id, reason, message });
  });

  return {
    io,
    async close(): Promise<void> {
      limits.dispose();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
/** Every learner connection is in this room; instructors are not. */
export const LEARNERS_ROOM = 'learners';
