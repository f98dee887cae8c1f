/**
 * The instructor's line to lab-server for the dashboard: a socket whose handshake carries the
 * instructor token, the class state it watches (`class:watch`, then `class:state` pushes), the
 * class controls, and the spotlight on one learner's terminal.
 *
 * It reconnects with backoff like a lesson's connection and watches again each time. A wrong
 * token is not retried: the server refuses it (FORBIDDEN) and the page says so.
 *
 * The instructor's demo terminal is a separate SandboxConnection on the same session; the
 * broadcast is asked for on that socket, the one that owns the terminal.
 */
import { LabClient, LabRequestError, type ConnectOptions } from '../../lib/lab-client';
import type { ClassState, ClientRequestName, RequestPayload, RequestResult } from '../../protocol';
import { RETRY_DELAYS_MS, type TokenStore } from '../terminal/sandbox-connection';
import { MirrorChannel, type MirrorView } from './mirror-channel';

export type ClassConnectionState = 'connecting' | 'live' | 'reconnecting' | 'refused';

export interface ClassSnapshot {
  state: ClassConnectionState;
  /** What is wrong, in a sentence; empty while live. */
  message: string;
  /** The latest class state; kept while reconnecting so the dashboard does not blank out. */
  classState?: ClassState;
  /** The learner whose terminal the instructor is viewing, and why it cannot be shown, if so. */
  spotlight?: { sessionId: string; error?: string };
}

export interface ClassConnectionOptions {
  instructorToken: string;
  labUrl: () => Promise<string>;
  tokens: TokenStore;
  connect?: (url: string, options: ConnectOptions) => Promise<LabClient>;
}

const CONNECT_TIMEOUT_MS = 8000;

export class ClassConnection {
  private snapshot: ClassSnapshot = { state: 'connecting', message: 'Connecting to the lab…' };
  private readonly listeners = new Set<() => void>();
  private client: LabClient | undefined;
  private offs: Array<() => void> = [];
  private readonly spotlightChannel: MirrorChannel;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private generation = 0;
  private disposed = false;

  constructor(private readonly options: ClassConnectionOptions) {
    this.spotlightChannel = new MirrorChannel({
      open: (client) => {
        const target = this.snapshot.spotlight;
        if (!target) return Promise.reject(new Error('Nobody is spotlighted.'));
        return client.request('class:spotlight', { sessionId: target.sessionId });
      },
      onError: (error) => {
        const target = this.snapshot.spotlight;
        if (target && target.error !== error) this.update({ spotlight: { ...target, error } });
      },
    });
  }

  getSnapshot = (): ClassSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  start(): void {
    void this.connect();
  }

  /** Sends an instructor request on the live socket; rejects in words when there is none. */
  request<E extends ClientRequestName>(event: E, payload: RequestPayload<E>): Promise<RequestResult<E>> {
    const client = this.client;
    if (!client?.socket.connected) return Promise.reject(new Error('Not connected to the lab right now; try again in a moment.'));
    return client.request(event, payload);
  }

  /** Views a learner's terminal, read-only; the learner sees a badge while it lasts. */
  spotlight(sessionId: string): void {
    if (this.snapshot.spotlight?.sessionId === sessionId) return;
    this.update({ spotlight: { sessionId } });
    this.spotlightChannel.start();
  }

  endSpotlight(): void {
    if (!this.snapshot.spotlight) return;
    this.spotlightChannel.stop();
    this.update({ spotlight: undefined });
    if (this.client?.socket.connected) void this.client.request('class:spotlight-end', {}).catch(() => undefined);
  }

  /** The spotlight's read-only view registers here while it is on the page. */
  registerSpotlightView(view: MirrorView): () => void {
    return this.spotlightChannel.register(view);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.dropClient();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const stale = () => generation !== this.generation || this.disposed;
    clearTimeout(this.retryTimer);
    this.dropClient();
    let client: LabClient;
    try {
      const url = await this.options.labUrl();
      client = await (this.options.connect ?? LabClient.connect)(url, {
        token: this.options.tokens.get(),
        instructorToken: this.options.instructorToken,
        reconnection: false,
        timeoutMs: CONNECT_TIMEOUT_MS,
      });
    } catch (error) {
      if (stale()) return;
      if (error instanceof LabRequestError && error.code === 'FORBIDDEN') {
        this.update({ state: 'refused', message: error.message });
        return;
      }
      this.scheduleReconnect(`Cannot reach the lab server: ${(error as Error).message}`);
      return;
    }
    if (stale()) {
      client.close();
      return;
    }
    this.client = client;
    this.offs = [
      client.onSession((session) => this.options.tokens.set(session.token)),
      client.on('class:state', (classState) => !stale() && this.update({ classState })),
    ];
    const onDisconnect = (reason: string) => {
      if (stale() || reason === 'io client disconnect') return;
      this.spotlightChannel.setClient(undefined);
      this.scheduleReconnect('The connection to the lab dropped.');
    };
    client.socket.on('disconnect', onDisconnect);
    this.offs.push(() => client.socket.off('disconnect', onDisconnect));
    try {
      const classState = await client.request('class:watch', {});
      if (stale()) return;
      this.attempt = 0;
      this.update({ state: 'live', message: '', classState });
      this.spotlightChannel.setClient(client);
    } catch (error) {
      if (!stale()) this.scheduleReconnect((error as Error).message);
    }
  }

  private scheduleReconnect(message: string): void {
    clearTimeout(this.retryTimer);
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt++;
    this.update({ state: this.snapshot.classState ? 'reconnecting' : 'connecting', message });
    const generation = this.generation;
    this.retryTimer = setTimeout(() => {
      if (generation === this.generation && !this.disposed) void this.connect();
    }, delay);
  }

  private dropClient(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.client?.close();
    this.client = undefined;
  }

  private update(change: Partial<ClassSnapshot>): void {
    if (this.disposed) return;
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
  }
}
