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
import type { Session } from '../session/session-store';
import type { ConnectionScope } from './connection-scope';

export interface SocketData {
  session: Session;
  token: string;
  isNew: boolean;
  role: Role;
  /** The client's address as the per-address limits count it (see client-address.ts). */
  address: string;
  /** What the connection views and subscribes to; disposed once when it goes away. */
  scope: ConnectionScope;
  /** Several lab nodes: the node that held this session's sandboxes stopped (cluster/wiring.ts). */
  homeLost?: boolean;
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
  /**
   * Called once the handshake passed and the `session` event was sent. What a feature must undo
   * when the connection goes, it holds in `socket.data.scope`.
   */
  onConnect?(socket: LabSocket): void;
}
