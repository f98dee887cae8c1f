/**
 * A stand-in for LabClient in the browser-side unit tests: it records what is sent and asked,
 * answers requests through a function the test gives, lets the test play server events, and can
 * drop like a real socket. One fake for every component test, so each test states only what its
 * server would answer.
 */
import type { LabClient, SessionInfo } from './lab-client';
import type { ServerToClientEvents } from '../protocol';

export type FakeAnswer = (event: string, payload: Record<string, unknown>) => unknown;

export interface FakeLabClientOptions {
  token?: string;
  displayName?: string;
  /** Answers requests; what it returns (or throws) is the server's answer. Without one, `{}`. */
  answer?: FakeAnswer;
}

export class FakeLabClient {
  readonly sent: Array<[string, unknown]> = [];
  readonly requests: Array<[string, unknown]> = [];
  closed = false;
  readonly session: SessionInfo;
  readonly socket = {
    connected: true,
    on: (_event: 'disconnect', listener: (reason: string) => void) => void this.disconnectListeners.add(listener),
    off: (_event: 'disconnect', listener: (reason: string) => void) => void this.disconnectListeners.delete(listener),
  };
  private readonly listeners = new Map<string, Set<(payload: never) => void>>();
  private readonly disconnectListeners = new Set<(reason: string) => void>();
  private readonly answer: FakeAnswer;

  constructor(options: FakeLabClientOptions = {}) {
    this.session = {
      token: options.token ?? 'new-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      sessionId: 'ses-0123456789ab',
      displayName: options.displayName ?? 'swift-otter',
      protocolVersion: 1,
      isNew: !options.token,
    };
    this.answer = options.answer ?? (() => ({}));
  }

  get token(): string {
    return this.session.token;
  }

  /** This fake where a LabClient is expected. */
  get client(): LabClient {
    return this as unknown as LabClient;
  }

  onSession(listener: (session: SessionInfo) => void): () => void {
    listener(this.session);
    return () => undefined;
  }

  on(event: string, listener: (payload: never) => void): () => void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return () => void this.listeners.get(event)!.delete(listener);
  }

  /** The server sends an event. */
  emit<E extends keyof ServerToClientEvents>(event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(payload as never);
  }

  /** No head start opened this socket: nothing was asked before the connection had it. */
  takeAskedTerminal(): undefined {
    return undefined;
  }

  stopKeeping(): void {
    // The fake hands events only to the listeners there are.
  }

  send(event: string, payload: unknown): void {
    this.sent.push([event, payload]);
  }

  async request(event: string, payload: Record<string, unknown>, _timeoutMs?: number, onReply?: (result: unknown) => void): Promise<unknown> {
    this.requests.push([event, payload]);
    try {
      const value = await this.answer(event, payload);
      onReply?.({ ok: true, value });
      return value;
    } catch (error) {
      onReply?.({ ok: false, error: { code: (error as { code?: string }).code ?? 'INTERNAL', message: (error as Error).message } });
      throw error;
    }
  }

  /** The names of the requests made, in order. */
  requestNames(): string[] {
    return this.requests.map(([event]) => event);
  }

  /** Messages of one kind sent so far, their payloads in order. */
  sentOf(event: string): unknown[] {
    return this.sent.filter(([name]) => name === event).map(([, payload]) => payload);
  }

  listenerCount(): number {
    return [...this.listeners.values()].reduce((count, set) => count + set.size, 0);
  }

  /** The network dropped. */
  drop(): void {
    this.socket.connected = false;
    for (const listener of this.disconnectListeners) listener('transport close');
  }

  close(): void {
    this.closed = true;
  }
}
