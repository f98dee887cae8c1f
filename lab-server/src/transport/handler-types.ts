/**
 * What an event handler gets: the connection (with its session and role) and a payload that has
 * already passed its schema. Each feature exports a `HandlerSet` for its own events, and the
 * socket server merges them.
 */
import type { Socket } from 'socket.io';
import type {
  ClientMessageName,
  ClientRequestName,
  ClientToServerEvents,
  MessagePayload,
  RequestPayload,
  RequestResult,
  Role,
  ServerToClientEvents,
} from '../../../protocol';
import type { LabTerminal } from '../sandbox/terminal';
import type { Session } from '../session/session-store';

export interface SocketData {
  session: Session;
  token: string;
  isNew: boolean;
  role: Role;
  /** The client's address as the per-address limits count it (see client-address.ts). */
  address: string;
  /** Terminals this connection is attached to, detached when it goes away. */
  viewing: Map<string, LabTerminal>;
  /** Cleanups to run when the connection goes away (subscriptions of other features). */
  cleanups: Set<() => void>;
}

export type LabSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export type RequestHandler<E extends ClientRequestName> = (
  socket: LabSocket,
  payload: RequestPayload<E>,
) => Promise<RequestResult<E>> | RequestResult<E>;
export type MessageHandler<E extends ClientMessageName> = (socket: LabSocket, payload: MessagePayload<E>) => void;

export interface HandlerSet {
  requests: Partial<{ [E in ClientRequestName]: RequestHandler<E> }>;
  messages: Partial<{ [E in ClientMessageName]: MessageHandler<E> }>;
  /** Called once the handshake passed and the `session` event was sent. */
  onConnect?(socket: LabSocket): void;
  onDisconnect?(socket: LabSocket): void;
}
