/**
 * The lab: every sandbox on this node, who owns it, and how long it may live.
 *
 * Admission (a global limit, a limit per session) and lifetimes (grace period without viewers,
 * idle timeout, maximum lifetime) are decided here, so each refusal and each ending has one
 * place that words it for the learner.
 *
 * Starting a sandbox goes through the spawn queue (bounded concurrency, arrival order; see
 * spawn-queue.ts) and takes a warm sandbox when one is ready (see warm-pool.ts). Every sandbox
 * counts against the global limit: claimed ones, starting ones and warm ones. A learner is refused
 * LAB_FULL only when learners hold every place; warm sandboxes are places kept for learners.
 */
import { availableParallelism } from 'node:os';
import type { CloseReason, WarmPoolState } from '../../../protocol';
import { LabError } from '../errors';
import type { LabMetrics } from '../http/metrics';
import type { Logger } from '../log';
import { loopStalls } from '../loop-stalls';
import type { Session } from '../session/session-store';
import { newSandboxId, type Sandbox, type SandboxHooks } from './sandbox';
import { SpawnQueue } from './spawn-queue';
import type { LabTerminal } from './terminal';
import { WarmPool } from './warm-pool';

export interface LabPolicy {
  maxSandboxes: number;
  maxSandboxesPerSession: number;
  graceMs: number;
  idleMs: number;
  maxLifetimeMs: number;
  /** Warm sandboxes kept ready (the pool's base); 0 turns the pool off. */
  warmSandboxes: number;
  /** How many sandboxes start at once; defaults to one per core. */
  spawnSlots?: number;
  /** How long a learner who has not attached holds pool refills back; defaults to REFILL_HOLD_MAX_MS. */
  refillHoldMs?: number;
}

/**
 * Starts one sandbox. server.ts gives the lab `Sandbox.start` bound to the host (runc, cgroups,
 * bundles); the lab's unit test gives it stand-ins, so admission is tested without root.
 */
export type SandboxStarter = (id: string, key: string, ownerSessionId: string, hooks: SandboxHooks) => Promise<Sandbox>;

export interface OpenOptions {
  /** Lets an instructor start a demo sandbox while the lab is closed to learners. */
  ignoreClosed?: boolean;
  /** Aborted when the learner goes away: a place in the line is given up. */
  signal?: AbortSignal;
  /** Told how many learners are ahead, while the open waits in line. */
  onQueued?: (ahead: number) => void;
}

export interface LeftoverReport {
  sandboxes: number;
  cgroups: number;
  processes: number;
}

export type SandboxClosedListener = (sandbox: Sandbox, reason: CloseReason, message: string) => void;

/** An open in flight (waiting in line or starting), shared by every tab of the session that asks for the same key. */
interface Starting {
  promise: Promise<Sandbox>;
  /** Callers still waiting for it; when every one that can leave has left, the place is given up. */
  waiters: number;
  leave: AbortController;
  onQueued: Set<(ahead: number) => void>;
}

const SWEEP_INTERVAL_MS = 5_000;
/**
 * Pool refills wait while a learner has just got a sandbox and has not attached to it yet: a
 * class that opens the lesson at once claims its warm sandboxes and then asks for their
 * terminals, and a `runc run` started in between takes the CPU those learners' prompts need (on a
 * 2-core box, two refills were eating both cores while the last claimed learners waited). A
 * learner who never attaches holds refills back no longer than this.
 */
export const REFILL_HOLD_MAX_MS = 2_000;

export class Lab {
  private readonly sandboxes = new Map<string, Sandbox>();
  /**
   * Closed sandboxes whose cgroups could not be removed: their processes or memory may still be
   * there, so they keep their place in the lab's count until a sweep removes them.
   */
  private readonly leftovers = new Map<string, Sandbox>();
  private retryingLeftovers = false;
  /** Starts in flight, keyed by session and key, so two tabs opening the same lesson share one sandbox. */
  private readonly starting = new Map<string, Starting>();
  /** Learners' starts running `runc run` right now (not waiting, not claiming). */
  private coldStarts = 0;
  private readonly graceTimers = new Map<string, { cancel(): void }>();
  /** Sandboxes just given to a learner who has not attached yet: pool refills wait for them (REFILL_HOLD_MAX_MS). */
  private readonly awaitingViewer = new Map<string, NodeJS.Timeout>();
  private settledWaiters: Array<() => void> = [];
  /** The last hold was just released; refills start on the next turn. */
  private settling = false;
  /**
   * Ends a hold REFILL_HOLD_MAX_MS after it began, however many learners keep arriving without
   * attaching: refills and the dashboard are delayed, never starved. A new hold can begin only
   * once nobody is awaited any more.
   */
  private holdCap: NodeJS.Timeout | undefined;
  private holdExpired = false;
  private readonly closedListeners = new Set<SandboxClosedListener>();
  private readonly poolListeners = new Set<() => void>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly pool: WarmPool;
  private readonly queue: SpawnQueue;
  /** Whether the pool may start sandboxes yet (startWarming). */
  private warming = false;
  private disposed = false;
  /** The instructor can close the lab to new sandboxes; existing ones carry on. */
  acceptingNew = true;

  constructor(
    private readonly startSandbox: SandboxStarter,
    private readonly policy: LabPolicy,
    private readonly logger: Logger,
    private readonly metrics?: LabMetrics,
  ) {
    this.pool = new WarmPool(policy.warmSandboxes);
    this.queue = new SpawnQueue(
      policy.spawnSlots ?? availableParallelism(),
      {
        openMayStart: (slotFree) => this.pool.readyCount > 0 || (slotFree && this.containers < this.policy.maxSandboxes),
        backgroundWork: () => this.warmOne(),
      },
      () =>
        this.logger.warn('a sandbox teardown is still running after its time; it gave its spawn slot up so that sandboxes keep starting', {
          code: 'TEARDOWN_OVERDUE',
          opensWaiting: this.queue.waiting,
        }),
    );
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Lets the warm pool fill, in the background. The server calls it once it serves: filling a
   * pool of 16 is seconds of `runc run`s that must not delay lab-server's ready line, nor be left
   * behind by a start that failed (a busy port).
   */
  startWarming(): void {
    this.warming = true;
    this.queue.pump();
  }

  /** Every place taken under the global limit: learners' sandboxes, opens in flight and warm ones. */
  get size(): number {
    return this.claimed + this.pool.size;
  }

  /**
   * Resolves once no learner who just got a sandbox is still to attach to it (each waits at most
   * REFILL_HOLD_MAX_MS): background work that can wait (pool refills, the dashboard's glances)
   * waits for it while a class opens a lesson.
   */
  claimsSettled(): Promise<void> {
    if (!this.refillsHeld || this.disposed) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** How many sandboxes start at once. */
  get spawnSlots(): number {
    return this.queue.slots;
  }

  /** What closed sandboxes left behind, for the operator (/healthz, /metrics). */
  leftoverReport(): LeftoverReport {
    const sandboxes = [...this.leftovers.values()];
    return {
      sandboxes: sandboxes.length,
      cgroups: sandboxes.reduce((sum, s) => sum + s.leftoverCgroups.length, 0),
      processes: sandboxes.reduce((sum, s) => sum + s.leftoverPids().length, 0),
    };
  }

  get maxSandboxes(): number {
    return this.policy.maxSandboxes;
  }

  /** The warm pool, for the dashboard. */
  warmPool(): WarmPoolState {
    return this.pool.state();
  }

  /**
   * Gets ready for a class: keeps `learners` sandboxes warm (within the global limit) until they
   * are claimed. Returns how many the pool now aims for.
   */
  getReadyFor(learners: number): WarmPoolState {
    this.pool.reserve(Math.min(learners, this.policy.maxSandboxes - this.claimed));
    this.logger.info('warming up for a class', { learners });
    this.queue.pump();
    this.poolChanged();
    return this.pool.state();
  }

  all(): Sandbox[] {
    return [...this.sandboxes.values()];
  }

  onSandboxClosed(listener: SandboxClosedListener): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  /** Called when the warm pool changes (a sandbox became ready, was claimed, or the aim moved). */
  onPoolChanged(listener: () => void): () => void {
    this.poolListeners.add(listener);
    return () => this.poolListeners.delete(listener);
  }

  /**
   * The session's sandbox for `key`: a warm one if one is ready, else one started in its turn.
   * Refusals (closed, full, session limit) come at once, never after waiting in line.
   */
  open(session: Session, key: string, options: OpenOptions = {}): Promise<Sandbox> {
    const existing = this.forSession(session.id).find((s) => s.key === key && s.state === 'running');
    if (existing) return Promise.resolve(existing);
    const startKey = `${session.id}/${key}`;
    let entry = this.starting.get(startKey);
    if (!entry) {
      try {
        this.admit(session, options.ignoreClosed ?? false);
      } catch (error) {
        return Promise.reject(error);
      }
      entry = { promise: undefined as unknown as Promise<Sandbox>, waiters: 0, leave: new AbortController(), onQueued: new Set() };
      this.starting.set(startKey, entry);
      this.join(entry, options);
      entry.promise = this.start(session.id, key, startKey, entry);
      return entry.promise;
    }
    this.join(entry, options);
    return entry.promise;
  }

  /** A sandbox of this session. Another session's sandbox looks exactly like one that does not exist. */
  find(sessionId: string, sandboxId: string): Sandbox {
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox || sandbox.ownerSessionId !== sessionId || sandbox.state !== 'running') {
      throw new LabError('NOT_FOUND', 'There is no such sandbox in your session. It may have ended; start a new one.');
    }
    return sandbox;
  }

  /** A terminal in one of this session's sandboxes. */
  findTerminal(sessionId: string, terminalId: string): { sandbox: Sandbox; terminal: LabTerminal } {
    for (const sandbox of this.forSession(sessionId)) {
      const terminal = sandbox.terminal(terminalId);
      if (terminal && sandbox.state === 'running') return { sandbox, terminal };
    }
    throw new LabError('NOT_FOUND', 'There is no such terminal in your session. It may have ended; open a new one.');
  }

  forSession(sessionId: string): Sandbox[] {
    return this.all().filter((s) => s.ownerSessionId === sessionId);
  }

  /** Closes a sandbox and tells its owner why. Safe to call for one already closing. */
  async close(sandbox: Sandbox, reason: CloseReason, message?: string): Promise<void> {
    if (sandbox.state === 'closing' || sandbox.state === 'closed') return sandbox.close(reason);
    this.clearGrace(sandbox.id);
    this.releaseRefillHold(sandbox.id);
    const closing = sandbox.close(reason, (teardown) => this.queue.teardown(teardown));
    for (const listener of this.closedListeners) listener(sandbox, reason, message ?? this.describe(reason));
    await closing;
    this.sandboxes.delete(sandbox.id);
    if (sandbox.leftoverCgroups.length > 0) this.leftovers.set(sandbox.id, sandbox);
    this.updateGauges();
    this.queue.pump();
    this.logger.info('sandbox closed', { sandboxId: sandbox.id, sessionId: sandbox.ownerSessionId, reason });
  }

  async closeAll(reason: CloseReason): Promise<void> {
    await Promise.all(this.all().map((sandbox) => this.close(sandbox, reason)));
  }

  /** Stops the lifetime sweeper, refuses opens still waiting and closes every sandbox, warm ones too (on shutdown). */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.sweeper);
    for (const timer of this.awaitingViewer.values()) clearTimeout(timer);
    this.awaitingViewer.clear();
    clearTimeout(this.holdCap);
    for (const resolve of this.settledWaiters.splice(0)) resolve();
    for (const timer of this.graceTimers.values()) timer.cancel();
    this.graceTimers.clear();
    this.queue.dispose(new LabError('LAB_CLOSED', 'The lab server is shutting down, so no new sandbox can start.'));
    await Promise.allSettled([...this.starting.values()].map((entry) => entry.promise));
    // Warm sandboxes still starting land in the pool, and are closed with it.
    while (this.pool.starting > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all([this.closeAll('shutdown'), ...this.pool.drain().map((sandbox) => this.retire(sandbox))]);
  }

  /**
   * Learners' places: their sandboxes (closing ones too, until they are gone), opens in flight,
   * and closed ones whose leftovers teardown could not remove. What LAB_FULL is decided on (warm
   * sandboxes are room for learners, not places taken), so what a node's fullness is too.
   */
  get claimed(): number {
    return this.sandboxes.size + this.starting.size + this.leftovers.size;
  }

  /** Containers that exist or are being made right now, and what closed ones left behind. */
  private get containers(): number {
    return this.sandboxes.size + this.coldStarts + this.pool.size + this.leftovers.size;
  }

  private join(entry: Starting, options: OpenOptions): void {
    const { signal, onQueued } = options;
    if (onQueued) entry.onQueued.add(onQueued);
    entry.waiters++;
    signal?.addEventListener(
      'abort',
      () => {
        if (onQueued) entry.onQueued.delete(onQueued);
        if (--entry.waiters === 0) entry.leave.abort();
      },
      { once: true },
    );
  }

  private async start(sessionId: string, key: string, startKey: string, entry: Starting): Promise<Sandbox> {
    const started = performance.now();
    this.pool.noteOpen();
    try {
      const sandbox = await this.queue.open(() => this.claimOrSpawn(sessionId, key), {
        signal: entry.leave.signal,
        onAhead: (ahead) => {
          for (const listener of entry.onQueued) listener(ahead);
        },
      });
      this.sandboxes.set(sandbox.id, sandbox);
      this.metrics?.spawnSeconds.observe((performance.now() - started) / 1000);
      this.updateGauges();
      this.logger.info('sandbox started', { sandboxId: sandbox.id, sessionId, key, ms: Math.round(performance.now() - started) });
      // Nobody is attached yet: the grace period runs until the first viewer arrives.
      this.onUsage(sandbox);
      return sandbox;
    } finally {
      this.starting.delete(startKey);
      this.queue.pump();
    }
  }

  /**
   * Runs when the open's turn comes: a warm sandbox if one is ready (taken synchronously), else a
   * new one. Refills are held back from here on (inside the queue's task, so that the queue's next
   * pump already sees it), until the learner has attached.
   */
  private claimOrSpawn(sessionId: string, key: string): Promise<Sandbox> {
    const warm = this.pool.claim();
    if (warm) {
      warm.claim(sessionId, key);
      this.holdRefillsFor(warm);
      this.poolChanged();
      return Promise.resolve(warm);
    }
    this.coldStarts++;
    return this.spawn(key, sessionId)
      .then((sandbox) => {
        this.holdRefillsFor(sandbox);
        return sandbox;
      })
      .finally(() => this.coldStarts--);
  }

  private async spawn(key: string, sessionId: string): Promise<Sandbox> {
    const id = newSandboxId();
    try {
      return await this.startSandbox(id, key, sessionId, {
        onInitExit: (sandbox, exitCode) => {
          if (this.pool.remove(sandbox)) void this.retire(sandbox);
          else void this.close(sandbox, 'exited', exitCode === 0 ? undefined : `The shell exited with code ${exitCode}, so the sandbox ended.`);
        },
        onUsage: (sandbox) => this.onUsage(sandbox),
        onTerminalOutput: (chars) => this.metrics?.terminalOutputChars.inc(chars),
        onTerminalEcho: (shellMs, sendMs) => {
          this.metrics?.echoSeconds.observe({ stage: 'shell' }, shellMs / 1000);
          this.metrics?.echoSeconds.observe({ stage: 'send' }, sendMs / 1000);
        },
      });
    } catch (error) {
      const code = error instanceof LabError ? error.code : 'SPAWN_FAILED';
      this.metrics?.refusals.inc({ reason: code });
      this.logger.error('sandbox failed to start', { sandboxId: id, sessionId, warm: sessionId === '', code, detail: (error as LabError).detail, err: error });
      throw error;
    }
  }

  /** Background work for the spawn queue: one more warm sandbox, if the pool wants one and a learner cannot need the place. */
  private warmOne(): (() => Promise<void>) | undefined {
    if (!this.warming || this.disposed || this.refillsHeld || !this.pool.wantsMore() || this.size >= this.policy.maxSandboxes) return undefined;
    this.pool.starting++;
    return async () => {
      try {
        // Into the pool even when the lab is shutting down: dispose() closes the pool's sandboxes
        // once no warm start is left. Closing it here would wait for a slot this very task holds.
        this.pool.add(await this.spawn('', ''));
      } finally {
        this.pool.starting--;
        this.updateGauges();
        this.poolChanged();
      }
    };
  }

  /** Closes a warm sandbox nobody claimed. */
  private async retire(sandbox: Sandbox): Promise<void> {
    await sandbox.close('closed', (teardown) => this.queue.teardown(teardown));
    this.updateGauges();
    this.queue.pump();
  }

  private get refillsHeld(): boolean {
    return (this.awaitingViewer.size > 0 || this.settling) && !this.holdExpired;
  }

  /** Pool refills wait until this learner has attached (or REFILL_HOLD_MAX_MS has passed). */
  private holdRefillsFor(sandbox: Sandbox): void {
    const holdMs = this.policy.refillHoldMs ?? REFILL_HOLD_MAX_MS;
    if (this.awaitingViewer.size === 0 && !this.settling && !this.holdCap) {
      this.holdCap = setTimeout(() => {
        this.holdExpired = true;
        this.holdsEnded();
      }, holdMs);
      this.holdCap.unref();
    }
    const timer = setTimeout(() => this.releaseRefillHold(sandbox.id), holdMs);
    timer.unref();
    this.awaitingViewer.set(sandbox.id, timer);
  }

  private releaseRefillHold(sandboxId: string): void {
    const timer = this.awaitingViewer.get(sandboxId);
    if (!timer) return;
    clearTimeout(timer);
    this.awaitingViewer.delete(sandboxId);
    if (this.awaitingViewer.size > 0 || this.settling) return;
    // After this turn: the last learner's attach is answered before a refill's start takes the loop.
    this.settling = true;
    setImmediate(() => {
      this.settling = false;
      if (this.awaitingViewer.size > 0) return;
      clearTimeout(this.holdCap);
      this.holdCap = undefined;
      this.holdExpired = false;
      this.holdsEnded();
    });
  }

  private holdsEnded(): void {
    for (const resolve of this.settledWaiters.splice(0)) resolve();
    this.queue.pump();
  }

  private poolChanged(): void {
    this.updateGauges();
    for (const listener of this.poolListeners) listener();
  }

  private admit(session: Session, ignoreClosed: boolean): void {
    if (!this.acceptingNew && !ignoreClosed) {
      this.refuse('LAB_CLOSED', 'The lab is closed to new sandboxes right now. Ask the instructor to open it.');
    }
    const mine = this.forSession(session.id).filter((s) => s.state === 'running');
    const startingMine = [...this.starting.keys()].filter((k) => k.startsWith(`${session.id}/`)).length;
    let replaced: Sandbox | undefined;
    if (mine.length + startingMine >= this.policy.maxSandboxesPerSession) {
      // Reuse the slot of a sandbox nobody is looking at, oldest activity first.
      replaced = mine.filter((s) => s.viewerCount === 0).sort((a, b) => a.lastActivityAt - b.lastActivityAt)[0];
      if (!replaced) {
        this.refuse(
          'SESSION_LIMIT',
          `You already have ${this.policy.maxSandboxesPerSession} sandboxes open, the most one learner may have. Close a lesson's tab to free one.`,
        );
      }
    }
    // The sandbox being replaced gives its place to the new one.
    const taken = this.claimed - (replaced ? 1 : 0);
    if (taken >= this.policy.maxSandboxes) {
      this.refuse('LAB_FULL', `The lab is full: ${taken} of ${this.policy.maxSandboxes} sandboxes are in use. Try again in a few minutes.`);
    }
    if (replaced) {
      // It stops counting for the session at once; its container is gone before the new one starts
      // if the lab has no other room (the spawn queue waits for it).
      void this.close(replaced, 'closed', `This sandbox was closed to make room for a new one (at most ${this.policy.maxSandboxesPerSession} per learner).`);
    }
  }

  private refuse(code: 'LAB_FULL' | 'SESSION_LIMIT' | 'LAB_CLOSED', message: string): never {
    this.metrics?.refusals.inc({ reason: code });
    throw new LabError(code, message);
  }

  private onUsage(sandbox: Sandbox): void {
    if (sandbox.state !== 'running') return;
    this.updateGauges();
    if (sandbox.viewerCount > 0) {
      this.releaseRefillHold(sandbox.id);
      this.clearGrace(sandbox.id);
      return;
    }
    if (this.graceTimers.has(sandbox.id)) return;
    // Time lab-server itself stalled does not count: the learner could not have come back then.
    const timer = loopStalls.timeout(this.policy.graceMs, () => {
      this.graceTimers.delete(sandbox.id);
      if (sandbox.viewerCount === 0) void this.close(sandbox, 'abandoned');
    });
    this.graceTimers.set(sandbox.id, timer);
  }

  private clearGrace(sandboxId: string): void {
    this.graceTimers.get(sandboxId)?.cancel();
    this.graceTimers.delete(sandboxId);
  }

  private sweep(): void {
    void this.retryLeftovers();
    const now = Date.now();
    // The pool shrinks when it is idle, and no warm sandbox outlives the maximum lifetime.
    const stale = [...this.pool.takeExcess(now), ...this.pool.takeWhere((s) => now - s.createdAt > this.policy.maxLifetimeMs)];
    for (const sandbox of stale) void this.retire(sandbox);
    if (stale.length > 0) this.poolChanged();
    this.queue.pump();
    for (const sandbox of this.all()) {
      if (sandbox.state !== 'running') continue;
      // Idle time leaves out lab-server's own stalls, when input could not have been read.
      const idleMs = now - sandbox.lastActivityAt - loopStalls.stalledSince(sandbox.lastActivityAt);
      if (now - sandbox.createdAt > this.policy.maxLifetimeMs) void this.close(sandbox, 'lifetime');
      else if (idleMs > this.policy.idleMs) void this.close(sandbox, 'idle');
    }
  }

  private async retryLeftovers(): Promise<void> {
    if (this.retryingLeftovers || this.leftovers.size === 0) return;
    this.retryingLeftovers = true;
    try {
      for (const sandbox of this.leftovers.values()) {
        await sandbox.removeLeftovers(1);
        if (sandbox.leftoverCgroups.length > 0) continue;
        this.leftovers.delete(sandbox.id);
        this.logger.info('leftover cgroups of a closed sandbox are gone', { sandboxId: sandbox.id });
      }
      this.updateGauges();
    } finally {
      this.retryingLeftovers = false;
    }
  }

  private updateGauges(): void {
    if (!this.metrics) return;
    const leftovers = this.leftoverReport();
    for (const [kind, count] of Object.entries(leftovers)) this.metrics.leftovers.set({ kind }, count);
    this.metrics.sandboxesLive.set(this.sandboxes.size);
    this.metrics.sandboxesWarm.set(this.pool.readyCount);
    this.metrics.spawnQueueWaiting.set(this.queue.waiting);
    let terminals = 0;
    for (const sandbox of this.sandboxes.values()) terminals += sandbox.liveTerminals;
    this.metrics.terminalsLive.set(terminals);
  }

  private describe(reason: CloseReason): string {
    const minutes = (ms: number) => Math.round(ms / 60_000);
    switch (reason) {
      case 'closed':
        return 'The sandbox was closed.';
      case 'exited':
        return 'The shell exited, so the sandbox ended. Start a new one to carry on.';
      case 'idle':
        return `The sandbox was closed after ${minutes(this.policy.idleMs)} minutes without activity. Start a new one to carry on.`;
      case 'lifetime':
        return `The sandbox reached its maximum lifetime of ${minutes(this.policy.maxLifetimeMs)} minutes. Start a new one to carry on.`;
      case 'abandoned':
        return `Nobody was connected to the sandbox for ${Math.round(this.policy.graceMs / 1000)} seconds, so it was removed.`;
      case 'instructor':
        return 'The instructor ended this sandbox.';
      case 'shutdown':
        return 'The lab server is shutting down.';
      case 'failed':
        return 'The sandbox stopped unexpectedly.';
      case 'budget':
        return 'The sandbox took more of a kernel budget that the whole lab shares than one sandbox may, so it was closed.';
    }
  }
}
