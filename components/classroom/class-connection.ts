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
import { LabRequestError, type LabClient } from '../../lib/lab-client';
import type { ClassState, ClientRequestName, RequestPayload, RequestResult } from '../../protocol';
import { ConnectFailure, LabConnection, type LabConnectionOptions } from '../connection/lab-connection';
import { Store, type ReadableStore } from '../state/store';
import { MirrorChannel, type MirrorTarget } from './mirror-channel';

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

export interface ClassConnectionOptions extends Omit<LabConnectionOptions, 'onDrop'> {
  instructorToken: string;
}

export class ClassConnection {
  private readonly store = new Store<ClassSnapshot>({ state: 'connecting', message: 'Connecting to the lab…' });
  private readonly line: LabConnection;
  private readonly spotlightChannel: MirrorChannel;
  private disposed = false;

  constructor(options: ClassConnectionOptions) {
    this.line = new LabConnection({
      ...options,
      onDrop: () => {
        this.spotlightChannel.setClient(undefined);
        this.scheduleReconnect('The connection to the lab dropped.');
      },
    });
    this.line.onClient((client) => client.on('class:state', (classState) => this.line.isCurrent(client) && this.update({ classState })));
    this.spotlightChannel = new MirrorChannel({
      open: (client) => {
        const target = this.store.get().spotlight;
        if (!target) return Promise.reject(new Error('Nobody is spotlighted.'));
        return client.request('class:spotlight', { sessionId: target.sessionId });
      },
      onError: (error) => {
        const target = this.store.get().spotlight;
        if (target && target.error !== error) this.update({ spotlight: { ...target, error } });
      },
    });
  }

  get state(): ReadableStore<ClassSnapshot> {
    return this.store;
  }

  start(): void {
    void this.connect();
  }

  /** Sends an instructor request on the live socket; rejects in words when there is none. */
  request<E extends ClientRequestName>(event: E, payload: RequestPayload<E>): Promise<RequestResult<E>> {
    const client = this.line.current;
    if (!client?.socket.connected) return Promise.reject(new Error('Not connected to the lab right now; try again in a moment.'));
    return client.request(event, payload);
  }

  /** Views a learner's terminal, read-only; the learner sees a badge while it lasts. */
  spotlight(sessionId: string): void {
    if (this.store.get().spotlight?.sessionId === sessionId) return;
    this.update({ spotlight: { sessionId } });
    this.spotlightChannel.start();
  }

  endSpotlight(): void {
    if (!this.store.get().spotlight) return;
    this.spotlightChannel.stop();
    this.update({ spotlight: undefined });
    if (this.line.connected) void this.line.current?.request('class:spotlight-end', {}).catch(() => undefined);
  }

  /** The spotlight's read-only view registers here while it is on the page. */
  registerSpotlightView(view: MirrorTarget): () => void {
    return this.spotlightChannel.register(view);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.line.dispose();
    this.store.close();
  }

  // ---------------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    let client: LabClient | undefined;
    try {
      client = await this.line.open();
    } catch (error) {
      const { reason } = error as ConnectFailure;
      if (reason instanceof LabRequestError && reason.code === 'FORBIDDEN') {
        this.update({ state: 'refused', message: reason.message });
        return;
      }
      this.scheduleReconnect(`Cannot reach the lab server: ${(error as Error).message}`);
      return;
    }
    if (!client) return;
    try {
      const classState = await client.request('class:watch', {});
      if (!this.line.isCurrent(client)) return;
      this.line.succeeded();
      this.update({ state: 'live', message: '', classState });
      this.spotlightChannel.setClient(client);
    } catch (error) {
      if (this.line.isCurrent(client)) this.scheduleReconnect((error as Error).message);
    }
  }

  private scheduleReconnect(message: string): void {
    this.line.retryLater(() => void this.connect());
    this.update({ state: this.store.get().classState ? 'reconnecting' : 'connecting', message });
  }

  private update(change: Partial<ClassSnapshot>): void {
    if (!this.disposed) this.store.update(change);
  }
}
