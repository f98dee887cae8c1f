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
import { LabRequestError, type AskedTerminal, type LabClient } from '../../lib/lab-client';
import type { RequestResult } from '../../protocol/catalog';
import type { SandboxInfo } from '../../protocol/common';
import { Store, type ReadableStore } from '../state/store';
import { EarlyTerminal } from '../terminal/early-terminal';
import { markFirstPrompt } from './first-prompt-marks';
import { ConnectFailure, LabConnection, type ClientListener, type LabConnectionOptions } from './lab-connection';

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
  /**
   * Terminal 1 has attached in its xterm (or failed to) on this connection. The observe panel
   * waits for it, and the other terminals for its `terminal:open` answer, so that nothing delays
   * the learner's first prompt.
   */
  firstTerminalSettled?: boolean;
  /** When the next automatic attempt happens (ms since epoch), while retrying. */
  retryAt?: number;
}

/** What the connection needs from a terminal on the page (an OwnedTerminal implements it). */
export interface TerminalSlot {
  readonly slot: number;
  /**
   * Attaches to `terminalId`, or starts a new shell when it is undefined; resolves with its id.
   * Terminal 1 may be handed the `terminal:open` the connection sent before it registered.
   */
  attach(client: LabClient, sandboxId: string, terminalId: string | undefined, early?: EarlyTerminal): Promise<string>;
  /** Stop streaming: the socket dropped or the sandbox ended. The screen stays as it was. */
  detach(reason: 'disconnected' | 'ended', message?: string): void;
  /** Types into the terminal; false when it is not live. */
  type(data: string): boolean;
  focus(): void;
}

export interface SandboxConnectionOptions extends Omit<LabConnectionOptions, 'onDrop'> {
  /** The sandbox key: the lesson's slug. */
  key: string;
  /**
   * The first `sandbox:open` waits for this: the socket and session are made at once, the sandbox
   * only when it resolves (the course map connects on a press and opens the sandbox on its click,
   * components/connection/lesson-warmup.ts).
   */
  openWhen?: Promise<void>;
}

/** What the page shows from its first paint (the server renders it) until the terminal is live. */
export const STARTING_STATUS: ConnectionStatus = { state: 'connecting', message: 'Starting your sandbox…', liveTerminals: 0 };

/** Several lab nodes: the node that held the sandbox stopped, and a live node took the session over. */
export const HOME_LOST_MESSAGE = 'The lab machine running your sandbox stopped. Your progress is kept: start a new sandbox.';

/** Refusals that retrying cannot fix; the learner (or operator) has to act. FORBIDDEN is a wrong instructor link. */
const FATAL_HANDSHAKE_CODES = new Set(['ORIGIN_REFUSED', 'PROTOCOL_MISMATCH', 'BAD_HANDSHAKE', 'TOO_MANY_CONNECTIONS', 'FORBIDDEN']);

type Mode = 'open' | 'resume' | 'restart';

export class SandboxConnection {
  private readonly statusStore = new Store<ConnectionStatus>(STARTING_STATUS);
  private readonly activeSlotStore = new Store(0);
  private readonly line: LabConnection;
  private sandbox: SandboxInfo | undefined;
  private readonly slots = new Map<number, TerminalSlot>();
  /** Which pty each slot shows: slot 0 is the sandbox's run terminal. */
  private readonly terminalIds = new Map<number, string>();
  /** Terminal 1's attach on a client: the other slots attach once it has an answer. */
  private firstTerminal: FirstTerminalGate | undefined;
  /** Terminal 1 opened before it registered (its code still loading), for it to take over. */
  private earlyTerminal: EarlyTerminal | undefined;
  private started = false;
  private disposed = false;

  constructor(private readonly options: SandboxConnectionOptions) {
    this.line = new LabConnection({ ...options, onDrop: () => this.dropped() });
    // Registered before any client, so nothing the server sends on one is missed.
    this.line.onClient((client) => {
      const offs = [
        client.on('sandbox:closed', ({ sandboxId, message }) => {
          if (this.line.isCurrent(client) && sandboxId === this.sandbox?.sandboxId) this.end(message);
        }),
        // A class opened the lesson at once: say where this learner is in the line.
        client.on('sandbox:queue', ({ key, ahead }) => {
          const status = this.statusStore.get();
          if (!this.line.isCurrent(client) || key !== this.options.key || status.state !== 'connecting') return;
          this.setStatus({ ...status, message: queueMessage(ahead) });
        }),
      ];
      return () => offs.forEach((off) => off());
    });
  }

  /** The connection's state, for the status badge and the overlay. */
  get state(): ReadableStore<ConnectionStatus> {
    return this.statusStore;
  }

  /** The terminal the learner last used; Run types there unless a block names another. */
  get activeSlot(): ReadableStore<number> {
    return this.activeSlotStore;
  }

  /** Marks the terminal the learner is using (focus, a tab, or a Run aimed at it). */
  setActiveSlot(slotIndex: number): void {
    this.activeSlotStore.set(slotIndex);
  }

  get sandboxId(): string | undefined {
    return this.statusStore.get().state === 'live' ? this.sandbox?.sandboxId : undefined;
  }

  /** The socket, for panels that subscribe to more of the protocol (observe, classroom). */
  get labClient(): LabClient | undefined {
    return this.line.current;
  }

  /** The page's listeners are all registered (see LabConnection.stopKeepingEvents). */
  stopKeepingEvents(): void {
    this.line.stopKeepingEvents();
  }

  /** See LabConnection.onClient. */
  onClient(listener: ClientListener): () => void {
    return this.line.onClient(listener);
  }

  /** The pty a slot shows right now, e.g. to broadcast it. */
  terminalIdOf(slotIndex: number): string | undefined {
    return this.statusStore.get().state === 'live' ? this.terminalIds.get(slotIndex) : undefined;
  }

  start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    void this.connect('open');
  }

  /** Tries again now instead of waiting for the next automatic attempt. */
  retry(): void {
    if (this.disposed) return;
    void this.connect(this.sandbox && this.statusStore.get().state !== 'ended' ? 'resume' : 'open');
  }

  /** Throws the current sandbox away (if any is left) and starts a fresh one. */
  restart(): void {
    if (this.disposed) return;
    void this.connect('restart');
  }

  /** Adds a terminal to the page; it attaches now if the sandbox is live, else once it is. */
  register(slot: TerminalSlot): () => void {
    this.slots.set(slot.slot, slot);
    const client = this.line.current;
    if (client && this.statusStore.get().state === 'live') void this.attachInTurn(slot, client);
    return () => {
      if (this.slots.get(slot.slot) !== slot) return;
      this.slots.delete(slot.slot);
      const terminalId = this.terminalIds.get(slot.slot);
      if (terminalId && this.line.connected) this.line.current?.send('terminal:detach', { terminalId });
    };
  }

  /** Ends the shell behind a slot (the learner closed the second terminal). */
  async closeTerminal(slotIndex: number): Promise<void> {
    const terminalId = this.terminalIds.get(slotIndex);
    this.terminalIds.delete(slotIndex);
    const client = this.line.current;
    if (slotIndex === 0 || !terminalId || !client) return;
    await client.request('terminal:close', { terminalId }).catch(() => undefined);
  }

  /** Starts a new shell in a slot whose shell exited. */
  reopenTerminal(slotIndex: number): void {
    const slot = this.slots.get(slotIndex);
    if (!slot || slotIndex === 0) return;
    this.terminalIds.delete(slotIndex);
    const client = this.line.current;
    if (client && this.statusStore.get().state === 'live') void this.attachInTurn(slot, client);
  }

  /** Types a command into a terminal and presses Enter. Returns false when it is not live. */
  run(command: string, slotIndex = this.activeSlotStore.get()): boolean {
    const slot = this.slots.get(slotIndex) ?? this.slots.get(0);
    if (!slot) return false;
    this.setActiveSlot(slot.slot);
    // Each line is entered as if typed; the final Enter runs the last one.
    return slot.type(`${command.replace(/\r?\n/g, '\r').replace(/\r+$/, '')}\r`);
  }

  focusTerminal(slotIndex: number): void {
    this.slots.get(slotIndex)?.focus();
  }

  /**
   * Asks lab-server to run a step's check (the lesson's own, found by lesson and step) in this
   * sandbox; lab-server records the pass itself. `timeoutMs` is the check's, to wait long enough.
   */
  async checkStep(lessonSlug: string, stepId: string, timeoutMs?: number): Promise<RequestResult<'progress:check'>> {
    const client = this.line.current;
    const sandboxId = this.sandboxId;
    if (!client || !sandboxId) throw new Error('The sandbox is not connected right now. Wait until the terminal says “Live”, then check again.');
    const wait = (timeoutMs ?? 10_000) + 15_000;
    return client.request('progress:check', { sandboxId, lessonSlug, stepId }, wait);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropEarly();
    this.line.dispose();
    this.statusStore.close();
    this.activeSlotStore.close();
    this.slots.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private async connect(mode: Mode): Promise<void> {
    this.dropEarly();
    for (const slot of this.slots.values()) slot.detach('disconnected');
    if (mode !== 'resume') {
      this.setStatus({
        state: 'connecting',
        message: mode === 'restart' ? 'Starting a fresh sandbox…' : STARTING_STATUS.message,
        liveTerminals: 0,
      });
    }

    let client: LabClient | undefined;
    try {
      client = await this.line.open();
    } catch (error) {
      this.connectFailed(error as ConnectFailure, mode);
      return;
    }
    if (!client) return;
    markFirstPrompt('socket-open');
    const stale = () => !this.line.isCurrent(client);

    try {
      await this.options.openWhen;
      if (stale()) return;
      const info = await this.findSandbox(client, mode);
      if (stale()) return;
      markFirstPrompt('sandbox-open');
      if (!info) {
        this.end(
          client.session?.homeLost
            ? HOME_LOST_MESSAGE
            : 'Your sandbox ended while the connection was down (the lab server may have restarted). Start a fresh one to carry on.',
        );
        return;
      }
      if (info.sandboxId !== this.sandbox?.sandboxId) this.terminalIds.clear();
      this.sandbox = info;
      this.assignTerminals(info);
      this.line.succeeded();
      this.firstTerminal = firstTerminalGate(client, () => {
        const status = this.statusStore.get();
        if (this.line.isCurrent(client) && status.state === 'live') this.setStatus({ ...status, firstTerminalSettled: true });
      });
      this.setStatus({
        state: 'live',
        message: '',
        sandbox: { sandboxId: info.sandboxId, hostname: info.hostname },
        liveTerminals: info.terminals.filter((terminal) => !terminal.exited).length,
        firstTerminalSettled: false,
      });
      // The page's head start attached terminal 1 already (head-start-script.ts): it is taken over, not asked again.
      // (It asked with this very `sandbox:open`, so it is the same terminal; one that were not is let go.)
      const asked = client.takeAskedTerminal();
      const taken = asked?.sandboxId === info.sandboxId && asked.terminalId === this.terminalIds.get(0) ? asked : undefined;
      if (asked && !taken) {
        asked.take();
        client.send('terminal:detach', { terminalId: asked.terminalId });
      }
      if (taken || !this.slots.has(0)) this.openEarly(client, info.sandboxId, taken);
      await Promise.allSettled([...this.slots.values()].map((slot) => this.attachInTurn(slot, client)));
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

  /**
   * Terminal 1 attaches at once; any other waits until terminal 1 has its answer, so a second
   * shell's start (a `runc exec` on the server) never holds up the first prompt. Terminal 1 may
   * register late (its code loads while the sandbox starts); the others then wait for it.
   */
  private async attachInTurn(slot: TerminalSlot, client: LabClient): Promise<void> {
    const gate = this.firstTerminal;
    if (!gate || gate.client !== client) return;
    if (slot.slot === 0) {
      const early = this.earlyTerminal?.client === client ? this.earlyTerminal : undefined;
      this.earlyTerminal = undefined;
      await this.attachSlot(slot, client, early);
      gate.settle();
      return;
    }
    await gate.opened;
    if (this.line.isCurrent(client) && this.slots.get(slot.slot) === slot) await this.attachSlot(slot, client);
  }

  private async attachSlot(slot: TerminalSlot, client: LabClient, early?: EarlyTerminal): Promise<void> {
    const sandbox = this.sandbox;
    if (!sandbox) {
      early?.dispose();
      return;
    }
    const known = this.terminalIds.get(slot.slot);
    try {
      const terminalId = await slot.attach(client, sandbox.sandboxId, known, early);
      // An early open was marked when it was answered (openEarly).
      if (slot.slot === 0 && !early) markFirstPrompt('terminal-open');
      if (this.line.isCurrent(client)) this.terminalIds.set(slot.slot, terminalId);
    } catch (error) {
      // An extra shell that ended while we were away: start a new one in its place.
      if (this.line.isCurrent(client) && slot.slot > 0 && known && error instanceof LabRequestError && error.code === 'NOT_FOUND') {
        this.terminalIds.delete(slot.slot);
        await this.attachSlot(slot, client);
      }
    }
  }

  /**
   * The sandbox answered before terminal 1's code loaded (a lesson opened by its address): open
   * terminal 1 now, holding its output until it registers (components/terminal/early-terminal.ts),
   * or take over the open the page's head start sent (`asked`). Its answer is terminal 1's for the
   * others' turn.
   */
  private openEarly(client: LabClient, sandboxId: string, asked?: AskedTerminal): void {
    const early = (this.earlyTerminal = asked ? EarlyTerminal.taking(client, asked) : new EarlyTerminal(client, sandboxId, this.terminalIds.get(0)));
    const settled = () => {
      if (this.earlyTerminal === early) this.firstTerminal?.answered();
    };
    early.opened.then(() => {
      // The head start marked its answer when it came.
      if (!asked) markFirstPrompt('terminal-open');
      settled();
    }, settled);
  }

  private dropEarly(): void {
    this.earlyTerminal?.dispose();
    this.earlyTerminal = undefined;
  }

  /** The socket dropped under us. */
  private dropped(): void {
    this.dropEarly();
    for (const slot of this.slots.values()) slot.detach('disconnected', 'Reconnecting…');
    const { state } = this.statusStore.get();
    if (state === 'ended' || state === 'error') return;
    this.scheduleReconnect(this.sandbox ? 'resume' : 'open', 'The connection to the lab dropped.');
  }

  private connectFailed(failure: ConnectFailure, mode: Mode): void {
    const code = failure.reason instanceof LabRequestError ? failure.reason.code : undefined;
    if (code && FATAL_HANDSHAKE_CODES.has(code)) {
      this.fail(failure.message, code);
      return;
    }
    const where = failure.url ? ` at ${failure.url}` : '';
    // No answer in time, the first time: a busy lab (a class arriving, a loaded box) more often
    // than a missing one. Say it is slow and try again before calling it an error.
    if (code === 'TIMEOUT' && this.line.failures === 0 && this.statusStore.get().state === 'connecting') {
      this.scheduleReconnect(mode, `The lab server${where} is slow to answer; trying again…`, 'connecting');
      return;
    }
    if (mode === 'resume' || this.statusStore.get().state === 'reconnecting') {
      this.scheduleReconnect(mode, `Cannot reach the lab server${where} yet.`);
      return;
    }
    // Never connected: say so plainly, and keep trying in the background.
    this.scheduleReconnect(mode, `Cannot reach the lab server${where}. Is it running? ${failure.message}`, 'error');
  }

  private scheduleReconnect(mode: Mode, message: string, state: 'connecting' | 'reconnecting' | 'error' = 'reconnecting'): void {
    const retryAt = this.line.retryLater(() => void this.connect(mode === 'restart' ? 'open' : mode));
    this.setStatus({ ...this.statusStore.get(), state, message, errorCode: undefined, retryAt });
  }

  private end(message: string): void {
    this.line.cancelRetry();
    this.dropEarly();
    for (const slot of this.slots.values()) slot.detach('ended', message);
    this.setStatus({ ...this.statusStore.get(), state: 'ended', message, errorCode: undefined, retryAt: undefined });
  }

  private fail(message: string, errorCode?: LabRequestError['code']): void {
    this.line.cancelRetry();
    this.setStatus({ ...this.statusStore.get(), state: 'error', message, errorCode, retryAt: undefined });
  }

  private setStatus(status: ConnectionStatus): void {
    if (!this.disposed) this.statusStore.set(status);
  }
}

interface FirstTerminalGate {
  client: LabClient;
  /** Terminal 1's `terminal:open` has its answer (or refusal): the other terminals may attach. */
  opened: Promise<void>;
  answered(): void;
  /** Terminal 1 is on screen (or failed): the observe panel may start. Implies answered(). */
  settle(): void;
}

function firstTerminalGate(client: LabClient, onSettled: () => void): FirstTerminalGate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let done = false;
  return {
    client,
    opened,
    answered: () => open(),
    settle() {
      if (done) return;
      done = true;
      open();
      onSettled();
    },
  };
}

export function queueMessage(ahead: number): string {
  if (ahead === 0) return 'Starting your sandbox: you are next.';
  return `Starting your sandbox: ${ahead} ahead of you.`;
}

function isTransient(error: unknown): boolean {
  return error instanceof LabRequestError && (error.code === 'DISCONNECTED' || error.code === 'TIMEOUT');
}
