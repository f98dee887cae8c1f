/**
 * Dispatch: the only way an inbound event reaches a handler. Each event is rate-limited per
 * connection, checked against its schema (and its role, for instructor requests), and only then
 * handed over. Unknown events, bad payloads and floods get a `lab:error` (or a failed ack) and are
 * dropped; a handler's failure becomes a coded refusal. Nothing a client sends can crash the
 * process.
 */
import {
  clientMessages,
  clientRequests,
  isClientMessage,
  isClientRequest,
  PROTOCOL_VERSION,
  requiredRole,
  type ClientMessageName,
  type ClientRequestName,
  type Result,
} from '../../../protocol';
import { LabError, toLabError } from '../errors';
import type { LabMetrics } from '../http/metrics';
import type { Logger } from '../log';
import type { HandlerSet, LabSocket, MessageHandler, RequestHandler } from './handler-types';
import { TokenBucket } from './token-bucket';

/** Events per second a connection may send on average, and in a burst (fast typing is ~20/s). */
const EVENTS_PER_SECOND = 200;
const EVENT_BURST = 400;
/** A connection still flooding after this many dropped events is cut off. */
const DROPPED_EVENTS_BEFORE_DISCONNECT = 2000;
/** Acks arrive once per 16k chars of output, so a fast stream makes many; they cost little. */
const ACK_COST = 0.02;

export type Dispatch = (socket: LabSocket, event: string, args: unknown[]) => void;

/** Merges every feature's handlers into one dispatcher; throws if the protocol has an event nobody handles. */
export function createDispatch(handlers: HandlerSet[], logger: Logger, metrics?: LabMetrics): Dispatch {
  const requestHandlers = Object.assign({}, ...handlers.map((h) => h.requests)) as { [E in ClientRequestName]: RequestHandler<E> };
  const messageHandlers = Object.assign({}, ...handlers.map((h) => h.messages)) as { [E in ClientMessageName]: MessageHandler<E> };
  const unhandled = [...Object.keys(clientRequests).filter((e) => !(e in requestHandlers)), ...Object.keys(clientMessages).filter((e) => !(e in messageHandlers))];
  if (unhandled.length > 0) throw new Error(`No handler for protocol events: ${unhandled.join(', ')}`);
  const rates = new WeakMap<LabSocket, TokenBucket>();

  return (socket, event, args) => {
    const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (result: Result<unknown>) => void) : undefined;
    const payload = args[0];
    const reject = (error: LabError) => {
      metrics?.badEvents.inc({ code: error.code });
      if (ack) ack({ ok: false, error: error.toPayload(event) });
      else socket.emit('lab:error', error.toPayload(event));
    };
    const failed = (what: string) => (error: unknown) => {
      const labError = toLabError(error);
      if (labError.code === 'INTERNAL') logger.error(what, { event, sessionId: socket.data.session.id, err: error, code: 'INTERNAL' });
      reject(labError);
    };

    let rate = rates.get(socket);
    if (!rate) rates.set(socket, (rate = new TokenBucket(EVENTS_PER_SECOND, EVENT_BURST)));
    if (!rate.take(event === 'terminal:ack' ? ACK_COST : 1)) {
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
        .then((value) => ack({ ok: true, value }), failed('request failed'));
      return;
    }

    if (isClientMessage(event)) {
      const parsed = clientMessages[event].safeParse(payload);
      if (!parsed.success) return reject(new LabError('BAD_REQUEST', describeIssues(event, parsed.error.issues)));
      try {
        (messageHandlers[event] as MessageHandler<typeof event>)(socket, parsed.data as never);
      } catch (error) {
        failed('message failed')(error);
      }
      return;
    }

    reject(new LabError('UNKNOWN_EVENT', `"${truncate(event, 60)}" is not part of the lab protocol (version ${PROTOCOL_VERSION}).`));
  };
}

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
