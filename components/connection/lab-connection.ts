/**
 * The browser's one reconnecting line to lab-server, which a lesson's sandbox connection and the
 * instructor's class connection are both built on. It owns what every page's socket needs and
 * nobody should write twice:
 * - where the lab is (`labUrl`) and the session token (kept, so a reload is the same session);
 * - one client at a time: opening a new one drops the old one with every listener registered
 *   on it, and work still running for the old one learns it is stale (`isCurrent`);
 * - backoff between attempts, and a network drop reported once per client;
 * - `onClient` listeners (the classroom, observe panels) get each client as soon as it is
 *   adopted, with the events it received before (a client keeps them until then).
 *
 * What to do on a connection (open a sandbox, watch the class) and how to word each state stays
 * with the owner.
 */
import { LabClient, type ConnectOptions } from '../../lib/lab-client';

export interface TokenStore {
  get(): string | undefined;
  set(token: string): void;
}

export interface LabConnectionOptions {
  labUrl: () => Promise<string>;
  tokens: TokenStore;
  /** The instructor's secret, on the instructor's pages only. */
  instructorToken?: string;
  /** Replaceable in tests. */
  connect?: (url: string, options: ConnectOptions) => Promise<LabClient>;
  /** The adopted client's socket dropped (not closed by us). */
  onDrop?(): void;
  /**
   * Clients keep the server's events for listeners that come after adoption too, until
   * stopKeepingEvents(): the connection starts before the page that listens to it (early-lesson.ts).
   */
  keepEvents?: boolean;
}

export type ClientListener = (client: LabClient) => (() => void) | void;

/** Backoff between reconnect attempts; the last value repeats. */
export const RETRY_DELAYS_MS = [300, 1000, 2000, 4000, 8000] as const;
/**
 * How long one attempt waits for its session: 8 s, doubling after each attempt that failed, up to
 * 64 s. A lab that answers, but slowly (a 2-core box starved by its class, or a page whose own work
 * keeps it from reading), would otherwise miss the same deadline on every attempt and never get in,
 * since each retry starts its handshake over; a lab that is down still fails at once.
 */
export function connectTimeoutMs(failures: number): number {
  return Math.min(8000 * 2 ** failures, 64_000);
}

/** Why a connection attempt failed, with the URL it tried (empty if it never got one). */
export class ConnectFailure extends Error {
  constructor(
    readonly reason: unknown,
    readonly url: string,
  ) {
    super((reason as Error).message);
    this.name = 'ConnectFailure';
  }
}

export class LabConnection {
  private client: LabClient | undefined;
  private cleanups: Array<() => void> = [];
  private readonly clientListeners = new Set<ClientListener>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  /** Bumped by every open() and by dispose(); an attempt that is not the latest is dropped. */
  private generation = 0;
  /** Several lab nodes: the node holding this session, from its last `session` event. */
  private node: string | undefined;
  private disposed = false;
  private keeping: boolean;
  /** Settles when the page listens: an attempt's deadline counts from then (ConnectOptions.deadlineFrom). */
  private readonly pageListening: Promise<void>;
  private pageListens!: () => void;

  constructor(private readonly options: LabConnectionOptions) {
    this.keeping = options.keepEvents ?? false;
    this.pageListening = new Promise((resolve) => (this.pageListens = resolve));
    if (!this.keeping) this.pageListens();
  }

  /** The adopted client, if any (it may be disconnected: check `connected`). */
  get current(): LabClient | undefined {
    return this.client;
  }

  get connected(): boolean {
    return Boolean(this.client?.socket.connected);
  }

  /** False once `client` was replaced, dropped by a newer attempt, or the connection disposed. */
  isCurrent(client: LabClient): boolean {
    return client === this.client && !this.disposed;
  }

  /**
   * Calls `listener` with every client this connection adopts (and the current one, if any), as
   * soon as its session is there. Events the server sends right after the handshake, such as
   * `class:broadcast-status`, reach it: the client kept them (see LabClient.on). The cleanup it
   * returns runs when that client is dropped.
   */
  onClient(listener: ClientListener): () => void {
    this.clientListeners.add(listener);
    if (this.client) {
      const cleanup = listener(this.client);
      if (cleanup) this.cleanups.push(cleanup);
    }
    return () => this.clientListeners.delete(listener);
  }

  /**
   * Drops the current client and connects a new one. Resolves with it once adopted, or with
   * undefined when a newer attempt or dispose() overtook this one; rejects with a ConnectFailure.
   */
  async open(): Promise<LabClient | undefined> {
    const generation = ++this.generation;
    const stale = () => generation !== this.generation || this.disposed;
    this.cancelRetry();
    this.drop();
    let url = '';
    let client: LabClient;
    try {
      url = await this.options.labUrl();
      client = await (this.options.connect ?? LabClient.connect)(url, {
        token: this.options.tokens.get(),
        ...(this.node ? { node: this.node } : {}),
        reconnection: false,
        timeoutMs: connectTimeoutMs(this.attempt),
        ...(this.keeping ? { deadlineFrom: this.pageListening } : {}),
        // Events that come right behind the session reach the listeners called at adoption.
        keepEvents: true,
        ...(this.options.instructorToken ? { instructorToken: this.options.instructorToken } : {}),
      });
    } catch (error) {
      if (stale()) return undefined;
      throw new ConnectFailure(error, url);
    }
    if (stale()) {
      client.close();
      return undefined;
    }
    this.adopt(client);
    return client;
  }

  /** Every listener is in: from now on events go only to the listeners there are (see LabClient.stopKeeping). */
  stopKeepingEvents(): void {
    this.keeping = false;
    this.pageListens();
    this.client?.stopKeeping();
  }

  /** Runs `again` after the next backoff delay (replacing any attempt already planned); returns when, in ms since epoch. */
  retryLater(again: () => void): number {
    this.cancelRetry();
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt++;
    const generation = this.generation;
    this.retryTimer = setTimeout(() => {
      if (generation === this.generation && !this.disposed) again();
    }, delay);
    return Date.now() + delay;
  }

  cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Attempts that failed since the line last worked. */
  get failures(): number {
    return this.attempt;
  }

  /** The line works again: the next drop starts the backoff from its shortest delay. */
  succeeded(): void {
    this.attempt = 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.generation++;
    this.cancelRetry();
    this.drop();
    this.clientListeners.clear();
  }

  private adopt(client: LabClient): void {
    this.client = client;
    const onDisconnect = (reason: string) => {
      if (!this.isCurrent(client) || reason === 'io client disconnect') return;
      this.options.onDrop?.();
    };
    client.socket.on('disconnect', onDisconnect);
    this.cleanups.push(
      client.onSession((session) => {
        this.options.tokens.set(session.token);
        // Several lab nodes: the next connection goes straight to the one holding the sandboxes.
        this.node = session.node;
      }),
      () => client.socket.off('disconnect', onDisconnect),
    );
    for (const listener of this.clientListeners) {
      const cleanup = listener(client);
      if (cleanup) this.cleanups.push(cleanup);
    }
    if (!this.keeping) client.stopKeeping();
  }

  private drop(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.client?.close();
    this.client = undefined;
  }
}

/** The session token in localStorage: a reload (or a new tab) reuses the same lab session. */
export const SESSION_TOKEN_KEY = 'isolab.session-token';

/** `key` keeps another session apart, e.g. the instructor's own. */
export function localTokenStore(key = SESSION_TOKEN_KEY): TokenStore {
  return {
    get() {
      try {
        return window.localStorage.getItem(key) ?? undefined;
      } catch {
        return undefined;
      }
    },
    set(token) {
      try {
        window.localStorage.setItem(key, token);
      } catch {
        // Without storage a reload starts a new session; everything else still works.
      }
    },
  };
}
