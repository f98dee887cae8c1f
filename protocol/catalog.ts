/**
 * The wire protocol between the browser and lab-server.
 *
 * One zod schema per event, in two catalogs: what a client may send, and what the server sends.
 * Each feature declares its events in its own file; this one merges them and derives the types,
 * so the compiler and the runtime check agree. This module imports nothing from the browser or
 * the server; both import it.
 */
import type { z } from 'zod';
import type { LabErrorPayload } from './common';
import { classroomMessages, classroomRequests, classroomServerEvents } from './classroom-events';
import { labMessages, labRequests, labServerEvents } from './lab-events';
import { observeMessages, observeRequests, observeServerEvents } from './observe-events';
import { progressRequests, progressServerEvents } from './progress-events';

/** Who may send an event. Learner events are open to every session; the rest need the role. */
export type Role = 'learner' | 'instructor';

export interface RequestDefinition {
  payload: z.ZodType;
  result: z.ZodType;
  role?: Role;
}
export type RequestCatalog = Record<string, RequestDefinition>;

/**
 * Requests carry an ack callback and are answered with a `Result`. Each entry names the payload
 * schema, the schema of the value returned on success, and the role it needs (learner if absent).
 */
export const clientRequests = { ...labRequests, ...observeRequests, ...classroomRequests, ...progressRequests } as const;

/** Fire-and-forget messages from the client. */
export const clientMessages = { ...labMessages, ...observeMessages, ...classroomMessages } as const;

/** Events the server sends. */
export const serverEvents = { ...labServerEvents, ...observeServerEvents, ...classroomServerEvents, ...progressServerEvents } as const;

export type ClientRequests = typeof clientRequests;
export type ClientRequestName = keyof ClientRequests;
export type ClientMessageName = keyof typeof clientMessages;
export type RequestPayload<E extends ClientRequestName> = z.infer<ClientRequests[E]['payload']>;
export type RequestResult<E extends ClientRequestName> = z.infer<ClientRequests[E]['result']>;
export type MessagePayload<E extends ClientMessageName> = z.infer<(typeof clientMessages)[E]>;
export type ServerEventName = keyof typeof serverEvents;
export type ServerPayload<E extends ServerEventName> = z.infer<(typeof serverEvents)[E]>;

/** Every request is answered through socket.io's ack callback with one of these. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: LabErrorPayload };

export type ClientToServerEvents = {
  [E in ClientRequestName]: (payload: RequestPayload<E>, ack: (result: Result<RequestResult<E>>) => void) => void;
} & {
  [E in ClientMessageName]: (payload: MessagePayload<E>) => void;
};

export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: ServerPayload<E>) => void;
};

export function isClientRequest(event: string): event is ClientRequestName {
  return Object.hasOwn(clientRequests, event);
}

export function isClientMessage(event: string): event is ClientMessageName {
  return Object.hasOwn(clientMessages, event);
}

/** The role a request needs. */
export function requiredRole(event: ClientRequestName): Role {
  return (clientRequests[event] as RequestDefinition).role ?? 'learner';
}
