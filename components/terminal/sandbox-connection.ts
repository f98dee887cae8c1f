/**
 * The lesson page's line to lab-server: one socket, one session, one sandbox (keyed by the
 * lesson's slug), and the terminals shown for it. A plain class with a small observable status,
 * so React only renders what it reports.
 *
 * It owns the lifecycle a learner must never have to think about:
 * - the session token is kept in localStorage, so a reload comes back to the same sandbox;
 * - when the network drops it reconnects with backoff, finds its sandbox again and has every
 *   terminal re-attach, which replays the screen;
 * - when the sandbox ends (idle, lifetime, the shell exited) it says so and offers a restart.
 */
import { LabClient, LabRequestError, type ConnectOptions } from '../../lib/lab-client';
import type { CheckResult, SandboxInfo } from '../../protocol/common';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface ConnectionStatus {
  state: ConnectionState;
  /** What is going on, in a sentence; empty while live. */
  message: string;
  /** The server's code for an error, so the page can word it (e.g. LAB_CLOSED, FORBIDDEN). */
  errorCode?: LabRequestError['code'];
  sandbox?: { sandboxId: string; hostname: string };
  /** How many terminals the sandbox had open when we (re)attached, so a reload shows them all. */
  liveTerminals: number;
  /** When the next automatic attempt happens (ms since epoch), while retrying. */
  retryAt?: number;
}

/** What the connection needs from a terminal on the page (TerminalSession implements it). */
export interface TerminalSlot {
  readonly slot: number;
  /** Attaches to `terminalId`, or starts a new shell when it is undefined; resolves with its id. */
  attach(client: LabClient, sandboxId: string, terminalId: string | undefined): Promise<string>;
  /** Stop streaming: the socket dropped or the sandbox ended. The screen stays as it was. */
  detach(reason: 'disconnected' | 'ended', message?: string): void;
  /** Types into the terminal; false when it is not live. */
  type(data: string): boolean;
  focus(): void;
}

export interface TokenStore {
  get(): string | undefined;
  set(token: string): void;
}

export interface SandboxConnectionOptions {
  /** The sandbox key: the lesson's slug. */
  key: string;
  labUrl: () => Promise<string>;
  tokens: TokenStore;
  /** The instructor's secret, on the instructor's pages only: their demo sandbox. */
  instructorToken?: string;
  /** Replaceable in tests. */
  connect?: (url: string, options: ConnectOptions) => Promise<LabClient>;
}

/** Refusals that retrying cannot fix; the learner (or operator) has to act. FORBIDDEN is a wrong instructor link. */
const FATAL_HANDSHAKE_CODES = new Set(['ORIGIN_REFUSED', 'PROTOCOL_MISMATCH', 'BAD_HANDSHAKE', 'TOO_MANY_CONNECTIONS', 'FORBIDDEN']);
/** Backoff between reconnect attempts; the last value repeats. */
export const RETRY_DELAYS_MS = [300, 1000, 2000, 4000, 8000] as const;
const CONNECT_TIMEOUT_MS = 8000;

type Mode = 'open' | 'resume' | 'restart';

export class SandboxConnection {
  private status: ConnectionStatus = { state: 'connecting', message: 'Connecting to the lab…', liveTerminals: 0 };
  private readonly listeners = new Set<() => void>();
  private readonly clientListeners = new Set<(client: LabClient) => (() => void) | void>();
  private client: LabClient | undefined;
  private clientCleanups: Array<() => void> = [];
  private sandbox: SandboxInfo | undefined;
  private readonly slots = new Map<number, TerminalSlot>();
  /** Which pty each slot shows: slot 0 is the sandbox's run terminal. */
  private readonly terminalIds = new Map<number, string>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  /** Bumped by every (re)connect and by dispose; async work from an older one is dropped. */
  private generation = 0;
  private started = false;
  private disposed = false;
  /** The terminal the learner last used; Run types there unless a block names another. */
  private activeSlot = 0;

  constructor(private readonly options: SandboxConnectionOptions) {}

  getStatus = (): ConnectionStatus => this.status;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getActiveSlot = (): number => this.activeSlot;

  /** Marks the terminal the learner is using (focus, a tab, or a Run aimed at it). */
  setActiveSlot(slotIndex: number): void {
    if (this.activeSlot === slotIndex) return;
    this.activeSlot = slotIndex;
    for (const listener of this.listeners) listener();
  }

  get sandboxId(): string | undefined {
    return this.status.state === 'live' ? this.sandbox?.sandboxId : undefined;
  }

  /** The socket, for panels that subscribe to more of the protocol (observe, classroom). */
  get labClient(): LabClient | undefined {
    return this.client;
  }

  /**
   * Calls `listener` with every client this connection adopts (and the current one, if any), as
   * soon as its session is there and before any later event is handled: events the server sends
   * right after the handshake, such as `class:broadcast-status`, reach it. The cleanup it returns
   * runs when that client is dropped.
   */
  onClient(listener: (client: LabClient) => (() => void) | void): () => void {
    this.clientListeners.add(listener);
    if (this.client) {
      const cleanup = listener(this.client);
      if (cleanup) this.clientCleanups.push(cleanup);
    }
    return () => this.clientListeners.delete(listener);
  }

  /** The pty a slot shows right now, e.g. to broadcast it. */
  terminalIdOf(slotIndex: number): string | undefined {
    return this.status.state === 'live' ? this.terminalIds.get(slotIndex) : undefined;
  }

  start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    void this.connect('open');
  }

  /** Tries again now instead of waiting for the next automatic attempt. */
  retry(): void {
    if (this.disposed) return;
    void this.connect(this.sandbox && this.status.state !== 'ended' ? 'resume' : 'open');
  }

  /** Throws the current sandbox away (if any is left) and starts a fresh one. */
  restart(): void {
    if (this.disposed) return;
    void this.connect('restart');
  }

  /** Adds a terminal to the page; it attaches now if the sandbox is live, else once it is. */
  register(slot: TerminalSlot): () => void {
    this.slots.set(slot.slot, slot);
    if (this.status.state === 'live') void this.attachSlot(slot, this.generation);
    return () => {
      if (this.slots.get(slot.slot) !== slot) return;
      this.slots.delete(slot.slot);
      const terminalId = this.terminalIds.get(slot.slot);
      if (terminalId && this.client?.socket.connected) this.client.send('terminal:detach', { terminalId });
    };
  }

  /** Ends the shell behind a slot (the learner closed the second terminal). */
  async closeTerminal(slotIndex: number): Promise<void> {
    const terminalId = this.terminalIds.get(slotIndex);
    this.terminalIds.delete(slotIndex);
    if (slotIndex === 0 || !terminalId || !this.client) return;
    await this.client.request('terminal:close', { terminalId }).catch(() => undefined);
  }

  /** Starts a new shell in a slot whose shell exited. */
  reopenTerminal(slotIndex: number): void {
    const slot = this.slots.get(slotIndex);
    if (!slot || slotIndex === 0) return;
    this.terminalIds.delete(slotIndex);
    if (this.status.state === 'live') void this.attachSlot(slot, this.generation);
  }

  /** Types a command into a terminal and presses Enter. Returns false when it is not live. */
  run(command: string, slotIndex = this.activeSlot): boolean {
    const slot = this.slots.get(slotIndex) ?? this.slots.get(0);
    if (!slot) return false;
    this.setActiveSlot(slot.slot);
    // Each line is entered as if typed; the final Enter runs the last one.
    return slot.type(`${command.replace(/\r?\n/g, '\r').replace(/\r+$/, '')}\r`);
  }

  focusTerminal(slotIndex: number): void {
    this.slots.get(slotIndex)?.focus();
  }

  /** Runs a step's check in the sandbox. */
  async runCheck(command: string, timeoutMs?: number): Promise<CheckResult> {
    const client = this.client;
    const sandboxId = this.sandboxId;
    if (!client || !sandboxId) throw new Error('The sandbox is not connected right now. Wait until the terminal says “Live”, then check again.');
    const wait = (timeoutMs ?? 10_000) + 5_000;
    return client.request('check:run', { sandboxId, command, ...(timeoutMs ? { timeoutMs } : {}) }, wait);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.dropClient();
    this.listeners.clear();
    this.slots.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private async connect(mode: Mode): Promise<void> {
    const generation = ++this.generation;
    const stale = () => generation !== this.generation || this.disposed;
    clearTimeout(this.retryTimer);
    this.dropClient();
    for (const slot of this.slots.values()) slot.detach('disconnected');
    if (mode !== 'resume') {
      this.setStatus({
        state: 'connecting',
        message: mode === 'restart' ? 'Starting a fresh sandbox…' : 'Connecting to the lab…',
        liveTerminals: 0,
      });
    }

    let url = '';
    let client: LabClient;
    try {
      url = await this.options.labUrl();
      const connect = this.options.connect ?? LabClient.connect;
      client = await connect(url, {
        token: this.options.tokens.get(),
        reconnection: false,
        timeoutMs: CONNECT_TIMEOUT_MS,
        ...(this.options.instructorToken ? { instructorToken: this.options.instructorToken } : {}),
      });
    } catch (error) {
      if (!stale()) this.connectFailed(error, mode, url);
      return;
    }
    if (stale()) {
      client.close();
      return;
    }
    this.adopt(client, generation);

    try {
      const info = await this.findSandbox(client, mode);
      if (stale()) return;
      if (!info) {
        this.end('Your sandbox ended while the connection was down (the lab server may have restarted). Start a fresh one to carry on.');
        return;
      }
      if (info.sandboxId !== this.sandbox?.sandboxId) this.terminalIds.clear();
      this.sandbox = info;
      this.assignTerminals(info);
      this.attempt = 0;
      this.setStatus({
        state: 'live',
        message: '',
        sandbox: { sandboxId: info.sandboxId, hostname: info.hostname },
        liveTerminals: info.terminals.filter((terminal) => !terminal.exited).length,
      });
      await Promise.allSettled([...this.slots.values()].map((slot) => this.attachSlot(slot, generation)));
    } catch (error) {
      if (stale()) return;
      if (isTransient(error)) this.scheduleReconnect(this.sandbox ? 'resume' : mode, (error as Error).message);
      else this.fail((error as Error).message, error instanceof LabRequestError ? error.code : undefined);
    }
  }

  private async findSandbox(client: LabClient, mode: Mode): Promise<SandboxInfo | undefined> {
    const previous = this.sandbox;
    if (mode === 'resume' && previous) {
      const sandboxes = await client.request('sandbox:list', {});
      return sandboxes.find((sandbox) => sandbox.sandboxId === previous.sandboxId);
    }
    if (mode === 'restart' && previous) {
      // Forget it first, so its "sandbox:closed" is not taken for the end of the new one.
      this.sandbox = undefined;
      // Already gone is fine: that is usually why the learner pressed Restart.
      await client.request('sandbox:close', { sandboxId: previous.sandboxId }).catch(() => undefined);
    }
    return client.request('sandbox:open', { key: this.options.key });
  }

  private assignTerminals(info: SandboxInfo): void {
    const run = info.terminals.find((terminal) => terminal.kind === 'run');
    const execs = info.terminals.filter((terminal) => terminal.kind === 'exec' && !terminal.exited).map((terminal) => terminal.terminalId);
    const second = this.terminalIds.get(1);
    this.terminalIds.clear();
    if (run) this.terminalIds.set(0, run.terminalId);
    const keep = second && execs.includes(second) ? second : execs[0];
    if (keep) this.terminalIds.set(1, keep);
  }

  private async attachSlot(slot: TerminalSlot, generation: number): Promise<void> {
    const client = this.client;
    const sandbox = this.sandbox;
    if (!client || !sandbox) return;
    const known = this.terminalIds.get(slot.slot);
    try {
      const terminalId = await slot.attach(client, sandbox.sandboxId, known);
      if (generation === this.generation) this.terminalIds.set(slot.slot, terminalId);
    } catch (error) {
      // An extra shell that ended while we were away: start a new one in its place.
      if (generation === this.generation && slot.slot > 0 && known && error instanceof LabRequestError && error.code === 'NOT_FOUND') {
        this.terminalIds.delete(slot.slot);
        await this.attachSlot(slot, generation);
      }
    }
  }

  private adopt(client: LabClient, generation: number): void {
    this.client = client;
    const stale = () => generation !== this.generation || this.disposed;
    this.clientCleanups.push(
      client.onSession((session) => this.options.tokens.set(session.token)),
      client.on('sandbox:closed', ({ sandboxId, message }) => {
        if (!stale() && sandboxId === this.sandbox?.sandboxId) this.end(message);
      }),
      // A class opened the lesson at once: say where this learner is in the line.
      client.on('sandbox:queue', ({ key, ahead }) => {
        if (stale() || key !== this.options.key || this.status.state !== 'connecting') return;
        this.setStatus({ ...this.status, message: queueMessage(ahead) });
      }),
    );
    const onDisconnect = (reason: string) => {
      if (stale() || reason === 'io client disconnect') return;
      for (const slot of this.slots.values()) slot.detach('disconnected', 'Reconnecting…');
      if (this.status.state === 'ended' || this.status.state === 'error') return;
      this.scheduleReconnect(this.sandbox ? 'resume' : 'open', 'The connection to the lab dropped.');
    };
    client.socket.on('disconnect', onDisconnect);
    this.clientCleanups.push(() => client.socket.off('disconnect', onDisconnect));
    for (const listener of this.clientListeners) {
      const cleanup = listener(client);
      if (cleanup) this.clientCleanups.push(cleanup);
    }
  }

  private dropClient(): void {
    for (const cleanup of this.clientCleanups) cleanup();
    this.clientCleanups = [];
    this.client?.close();
    this.client = undefined;
  }

  private connectFailed(error: unknown, mode: Mode, url: string): void {
    const code = error instanceof LabRequestError ? error.code : undefined;
    const reason = (error as Error).message;
    if (code && FATAL_HANDSHAKE_CODES.has(code)) {
      this.fail(reason, code);
      return;
    }
    const where = url ? ` at ${url}` : '';
    if (mode === 'resume' || this.status.state === 'reconnecting') {
      this.scheduleReconnect(mode, `Cannot reach the lab server${where} yet.`);
      return;
    }
    // Never connected: say so plainly, and keep trying in the background.
    this.scheduleReconnect(mode, `Cannot reach the lab server${where}. Is it running? ${reason}`, 'error');
  }

  private scheduleReconnect(mode: Mode, message: string, state: 'reconnecting' | 'error' = 'reconnecting'): void {
    clearTimeout(this.retryTimer);
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt++;
    const retryAt = Date.now() + delay;
    this.setStatus({ ...this.status, state, message, errorCode: undefined, retryAt });
    const generation = this.generation;
    this.retryTimer = setTimeout(() => {
      if (generation === this.generation && !this.disposed) void this.connect(mode === 'restart' ? 'open' : mode);
    }, delay);
  }

  private end(message: string): void {
    clearTimeout(this.retryTimer);
    for (const slot of this.slots.values()) slot.detach('ended', message);
    this.setStatus({ ...this.status, state: 'ended', message, errorCode: undefined, retryAt: undefined });
  }

  private fail(message: string, errorCode?: LabRequestError['code']): void {
    clearTimeout(this.retryTimer);
    this.setStatus({ ...this.status, state: 'error', message, errorCode, retryAt: undefined });
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.disposed) return;
    this.status = status;
    for (const listener of this.listeners) listener();
  }
}

export function queueMessage(ahead: number): string {
  if (ahead === 0) return 'Starting your sandbox: you are next.';
  return `Starting your sandbox: ${ahead} ahead of you.`;
}

function isTransient(error: unknown): boolean {
  return error instanceof LabRequestError && (error.code === 'DISCONNECTED' || error.code === 'TIMEOUT');
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
