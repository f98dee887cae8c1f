/**
 * The socket.io edge of lab-server.
 *
 * The handshake checks the Origin, the protocol version and the session token. After that, every
 * inbound event goes through one dispatcher: unknown events, payloads that fail their schema and
 * floods get a `lab:error` (or a failed ack) and are dropped. Handlers only ever see valid input,
 * and nothing a client sends can crash the process.
 */
import type { Server as HttpServer } from 'node:http';
import type { BlockList } from 'node:net';
import { Server } from 'socket.io';
import {
  clientMessages,
  clientRequests,
  HandshakeAuth,
  isClientMessage,
  isClientRequest,
  PROTOCOL_VERSION,
  requiredRole,
  type ClientMessageName,
  type ClientRequestName,
  type ClientToServerEvents,
  type ErrorCode,
  type Result,
  type ServerToClientEvents,
} from '../../../protocol';
import { LabError, toLabError } from '../errors';
import type { LabMetrics } from '../http/metrics';
import type { Logger } from '../log';
import { loopStalls } from '../loop-stalls';
import type { Lab } from '../sandbox/lab';
import { sameSecret } from '../secrets';
import type { SessionStore } from '../session/session-store';
import type { ClassCode } from '../classroom/class-code';
import type { AddressLimits } from './address-limits';
import { clientAddress, limitKey } from './client-address';
import type { HandlerSet, LabSocket, MessageHandler, RequestHandler, SocketData } from './handler-types';
import { TokenBucket } from './token-bucket';

export interface SocketServerOptions {
  allowedOrigins: string[];
  /** A connection whose handshake carries this token is the instructor's. */
  instructorToken: string;
  /** When set, a new learner session needs it (see classroom/class-code.ts). */
  classCode: ClassCode;
  lab: Lab;
  sessions: SessionStore;
  limits: AddressLimits;
  /** Proxies whose X-Forwarded-For names the client (ISOLAB_TRUSTED_PROXIES). */
  trustedProxies: BlockList;
  /** The handlers of every feature; together they must cover the whole protocol. */
  handlers: HandlerSet[];
  logger: Logger;
  metrics?: LabMetrics;
}


/** The largest socket.io message: a 64k-char paste in JSON, with room to spare. */
const MAX_MESSAGE_BYTES = 512 * 1024;
/** Events per second a connection may send on average, and in a burst (fast typing is ~20/s). */
const EVENTS_PER_SECOND = 200;
const EVENT_BURST = 400;
/** A connection still flooding after this many dropped events is cut off. */
const DROPPED_EVENTS_BEFORE_DISCONNECT = 2000;

const PING_INTERVAL_MS = 10_000;
const PING_TIMEOUT_MS = 10_000;

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
  const { lab, sessions, limits, logger, metrics } = options;
  const requestHandlers = Object.assign({}, ...options.handlers.map((h) => h.requests)) as { [E in ClientRequestName]: RequestHandler<E> };
  const messageHandlers = Object.assign({}, ...options.handlers.map((h) => h.messages)) as { [E in ClientMessageName]: MessageHandler<E> };
  const unhandled = [...Object.keys(clientRequests).filter((e) => !(e in requestHandlers)), ...Object.keys(clientMessages).filter((e) => !(e in messageHandlers))];
  if (unhandled.length > 0) throw new Error(`No handler for protocol events: ${unhandled.join(', ')}`);
  const rates = new WeakMap<LabSocket, TokenBucket>();

  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(httpServer, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    cors: { origin: options.allowedOrigins, credentials: false },
    pingInterval: PING_INTERVAL_MS,
    pingTimeout: PING_TIMEOUT_MS,
  });
  io.engine.on('connection', (raw: EngineSocket) => spareStalledPings(raw));
  io.use((socket, next) => {
    const address = clientAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], options.trustedProxies);
    const refuse = (code: ErrorCode, message: string) => {
      metrics?.refusals.inc({ reason: code });
      logger.warn('connection refused', { code, origin: socket.handshake.headers.origin, address });
      next(Object.assign(new Error(message), { data: { code, message } }));
    };
    const origin = socket.handshake.headers.origin;
    if (!origin || !options.allowedOrigins.includes(origin)) {
      return refuse(
        'ORIGIN_REFUSED',
        `Connections from ${origin ?? 'pages without an Origin'} are not allowed. The operator can add the origin to ISOLAB_ALLOWED_ORIGINS.`,
      );
    }
    const auth = HandshakeAuth.safeParse(socket.handshake.auth);
    if (!auth.success) return refuse('BAD_HANDSHAKE', 'The connection request is malformed. Reload the page.');
    if (auth.data.protocolVersion !== PROTOCOL_VERSION) {
      return refuse(
        'PROTOCOL_MISMATCH',
        `This page speaks protocol version ${auth.data.protocolVersion}, but the lab server speaks version ${PROTOCOL_VERSION}. Reload the page to get the current version.`,
      );
    }
    const key = limitKey(address);
    if (auth.data.instructorToken !== undefined) {
      // Checked before the comparison: once throttled, a guess learns nothing, right or wrong.
      const throttled = limits.refuseSecretAttempt(key);
      if (throttled) return refuse(throttled.code, throttled.message);
      if (!sameSecret(auth.data.instructorToken, options.instructorToken)) {
        limits.secretWasWrong(key);
        return refuse('FORBIDDEN', 'That instructor link is not valid. Use the instructor URL lab-server printed when it started.');
      }
    }
    const known = auth.data.token ? sessions.find(auth.data.token) : undefined;
    const instructor = auth.data.instructorToken !== undefined;
    // A page that skipped /join, or a script, gets no session without the code; learners already in keep theirs.
    if (!instructor && !known && options.classCode.current !== null) {
      if (!auth.data.classCode) return refuse('CLASS_CODE_REQUIRED', 'This lab is for a class: enter the class code your instructor gave you.');
      const throttled = limits.refuseSecretAttempt(key);
      if (throttled) return refuse(throttled.code, throttled.message);
      if (!options.classCode.matches(auth.data.classCode)) {
        limits.secretWasWrong(key);
        return refuse('CLASS_CODE_REQUIRED', 'That class code is not right. Check it with your instructor and try again.');
      }
    }
    const limited = limits.refuseConnection(key, known);
    if (limited) return refuse(limited.code, limited.message);
    if (known && auth.data.token) {
      socket.data.session = known;
      socket.data.token = auth.data.token;
      socket.data.isNew = false;
    } else {
      const issued = sessions.issue(auth.data.displayName);
      if (!instructor) options.classCode.admitted(issued.session);
      socket.data.session = issued.session;
      socket.data.token = issued.token;
      socket.data.isNew = true;
    }
    socket.data.role = instructor ? 'instructor' : 'learner';
    socket.data.address = key;
    next();
  });

  io.on('connection', (socket) => {
    const { session, address } = socket.data;
    limits.connected(address, session.id);
    session.connections++;
    socket.data.viewing = new Map();
    socket.data.cleanups = new Set();
    rates.set(socket, new TokenBucket(EVENTS_PER_SECOND, EVENT_BURST));
    void socket.join(sessionRoom(session.id));
    if (socket.data.role === 'learner') void socket.join(LEARNERS_ROOM);
    socket.emit('session', {
      token: socket.data.token,
      sessionId: session.id,
      displayName: session.displayName,
      protocolVersion: PROTOCOL_VERSION,
      isNew: socket.data.isNew,
    });
    socket.onAny((event: string, ...args: unknown[]) => dispatch(socket, event, args));
    for (const handlers of options.handlers) handlers.onConnect?.(socket);
    socket.on('disconnect', () => {
      session.connections--;
      session.lastSeenAt = Date.now();
      for (const handlers of options.handlers) handlers.onDisconnect?.(socket);
      limits.disconnected(address, session.id);
      for (const terminal of socket.data.viewing.values()) terminal.detach(socket.id);
      socket.data.viewing.clear();
      for (const cleanup of socket.data.cleanups) cleanup();
      socket.data.cleanups.clear();
    });
  });

  lab.onSandboxClosed((sandbox, reason, message) => {
    limits.sandboxClosed(sandbox.id);
    io.to(sessionRoom(sandbox.ownerSessionId)).emit('sandbox:closed', { sandboxId: sandbox.id, reason, message });
  });

  // -------------------------------------------------------------------------------------------
  // Dispatch: the only way an inbound event reaches a handler.
  // -------------------------------------------------------------------------------------------

  function dispatch(socket: LabSocket, event: string, args: unknown[]): void {
    const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (result: Result<unknown>) => void) : undefined;
    const payload = args[0];
    const reject = (error: LabError) => {
      metrics?.badEvents.inc({ code: error.code });
      if (ack) ack({ ok: false, error: error.toPayload(event) });
      else socket.emit('lab:error', error.toPayload(event));
    };

    // Acks arrive once per 16k chars of output, so a fast stream makes many; they cost little.
    const rate = rates.get(socket)!;
    if (!rate.take(event === 'terminal:ack' ? 0.02 : 1)) {
      rate.dropped++;
      if (rate.dropped >= DROPPED_EVENTS_BEFORE_DISCONNECT) {
        logger.warn('connection cut off for flooding', { sessionId: socket.data.session.id, code: 'RATE_LIMITED' });
        socket.disconnect(true);
      } else if (rate.shouldReport()) {
        reject(new LabError('RATE_LIMITED', 'Too many messages too fast; some were dropped. Slow down.'));
      }
      return;
    }

    if (isClientRequest(event)) {
      if (!ack) return reject(new LabError('BAD_REQUEST', `"${event}" is a request and needs an acknowledgement callback.`));
      if (requiredRole(event) !== 'learner' && socket.data.role !== requiredRole(event)) {
        return reject(new LabError('FORBIDDEN', `"${event}" is for the ${requiredRole(event)} only.`));
      }
      const parsed = clientRequests[event].payload.safeParse(payload);
      if (!parsed.success) return reject(new LabError('BAD_REQUEST', describeIssues(event, parsed.error.issues)));
      const handler = requestHandlers[event] as RequestHandler<typeof event>;
      Promise.resolve()
        .then(() => handler(socket, parsed.data as never))
        .then(
          (value) => ack({ ok: true, value }),
          (error: unknown) => {
            const labError = toLabError(error);
            if (labError.code === 'INTERNAL') logger.error('request failed', { event, sessionId: socket.data.session.id, err: error, code: 'INTERNAL' });
            reject(labError);
          },
        );
      return;
    }

    if (isClientMessage(event)) {
      const parsed = clientMessages[event].safeParse(payload);
      if (!parsed.success) return reject(new LabError('BAD_REQUEST', describeIssues(event, parsed.error.issues)));
      try {
        (messageHandlers[event] as MessageHandler<typeof event>)(socket, parsed.data as never);
      } catch (error) {
        const labError = toLabError(error);
        if (labError.code === 'INTERNAL') logger.error('message failed', { event, sessionId: socket.data.session.id, err: error, code: 'INTERNAL' });
        reject(labError);
      }
      return;
    }

    reject(new LabError('UNKNOWN_EVENT', `"${truncate(event, 60)}" is not part of the lab protocol (version ${PROTOCOL_VERSION}).`));
  }

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

function describeIssues(event: string, issues: Array<{ path: PropertyKey[]; message: string }>): string {
  const details = issues
    .slice(0, 3)
    .map((issue) => (issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message))
    .join('; ');
  return `"${event}" was rejected: ${details}.`;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
