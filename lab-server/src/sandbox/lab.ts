/**
 * The lab: every sandbox on this node, who owns it, and how long it may live.
 *
 * Admission (a global limit, a limit per session) and lifetimes (grace period without viewers,
 * idle timeout, maximum lifetime) are decided here, so each refusal and each ending has one
 * place that words it for the learner.
 */
import type { CloseReason } from '../../../protocol';
import { LabError } from '../errors';
import type { LabMetrics } from '../http/metrics';
import type { Logger } from '../log';
import type { Session } from '../session/session-store';
import { newSandboxId, Sandbox, type SandboxEnvironment } from './sandbox';
import type { LabTerminal } from './terminal';

export interface LabPolicy {
  maxSandboxes: number;
  maxSandboxesPerSession: number;
  graceMs: number;
  idleMs: number;
  maxLifetimeMs: number;
}

export type SandboxClosedListener = (sandbox: Sandbox, reason: CloseReason, message: string) => void;

const SWEEP_INTERVAL_MS = 5_000;

export class Lab {
  private readonly sandboxes = new Map<string, Sandbox>();
  /** Starts in flight, keyed by session and key, so two tabs opening the same lesson share one sandbox. */
  private readonly starting = new Map<string, Promise<Sandbox>>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  private readonly closedListeners = new Set<SandboxClosedListener>();
  private readonly sweeper: NodeJS.Timeout;
  /** The instructor can close the lab to new sandboxes; existing ones carry on. */
  acceptingNew = true;

  constructor(
    private readonly env: SandboxEnvironment,
    private readonly policy: LabPolicy,
    private readonly logger: Logger,
    private readonly metrics?: LabMetrics,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sandboxes.size + this.starting.size;
  }

  get maxSandboxes(): number {
    return this.policy.maxSandboxes;
  }

  all(): Sandbox[] {
    return [...this.sandboxes.values()];
  }

  onSandboxClosed(listener: SandboxClosedListener): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  /**
   * The session's sandbox for `key`, started if there is none. `ignoreClosed` lets an instructor
   * start a demo sandbox while the lab is closed to learners.
   */
  async open(session: Session, key: string, options: { ignoreClosed?: boolean } = {}): Promise<Sandbox> {
    const existing = this.forSession(session.id).find((s) => s.key === key && s.state === 'running');
    if (existing) return existing;
    const startKey = `${session.id}/${key}`;
    const inFlight = this.starting.get(startKey);
    if (inFlight) return inFlight;

    await this.admit(session, options.ignoreClosed ?? false);
    const id = newSandboxId();
    const started = performance.now();
    const start = Sandbox.start(id, key, session.id, this.env, {
      onInitExit: (sandbox, exitCode) => void this.close(sandbox, 'exited', exitCode === 0 ? undefined : `The shell exited with code ${exitCode}, so the sandbox ended.`),
      onUsage: (sandbox) => this.onUsage(sandbox),
      onTerminalOutput: (chars) => this.metrics?.terminalOutputChars.inc(chars),
    });
    this.starting.set(startKey, start);
    try {
      const sandbox = await start;
      this.sandboxes.set(sandbox.id, sandbox);
      this.metrics?.spawnSeconds.observe((performance.now() - started) / 1000);
      this.updateGauges();
      this.logger.info('sandbox started', { sandboxId: id, sessionId: session.id, key, ms: Math.round(performance.now() - started) });
      // Nobody is attached yet: the grace period runs until the first viewer arrives.
      this.onUsage(sandbox);
      return sandbox;
    } catch (error) {
      const code = error instanceof LabError ? error.code : 'SPAWN_FAILED';
      this.metrics?.refusals.inc({ reason: code });
      this.logger.error('sandbox failed to start', { sandboxId: id, sessionId: session.id, code, detail: (error as LabError).detail, err: error });
      throw error;
    } finally {
      this.starting.delete(startKey);
    }
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

  /** Any running sandbox by id, for the instructor and the host view. Not for learner requests. */
  byId(sandboxId: string): Sandbox | undefined {
    return this.sandboxes.get(sandboxId);
  }

  /** The terminal with this id in any running sandbox, for the classroom's read-only viewers. */
  byTerminalId(terminalId: string): LabTerminal | undefined {
    for (const sandbox of this.sandboxes.values()) {
      const terminal = sandbox.terminal(terminalId);
      if (terminal && sandbox.state === 'running') return terminal;
    }
    return undefined;
  }

  forSession(sessionId: string): Sandbox[] {
    return this.all().filter((s) => s.ownerSessionId === sessionId);
  }

  /** Closes a sandbox and tells its owner why. Safe to call for one already closing. */
  async close(sandbox: Sandbox, reason: CloseReason, message?: string): Promise<void> {
    if (sandbox.state === 'closing' || sandbox.state === 'closed') return sandbox.close(reason);
    this.clearGrace(sandbox.id);
    const closing = sandbox.close(reason);
    for (const listener of this.closedListeners) listener(sandbox, reason, message ?? this.describe(reason));
    await closing;
    this.sandboxes.delete(sandbox.id);
    this.updateGauges();
    this.logger.info('sandbox closed', { sandboxId: sandbox.id, sessionId: sandbox.ownerSessionId, reason });
  }

  async closeAll(reason: CloseReason): Promise<void> {
    await Promise.all(this.all().map((sandbox) => this.close(sandbox, reason)));
  }

  /** Stops the lifetime sweeper and closes every sandbox (on shutdown). */
  async dispose(): Promise<void> {
    clearInterval(this.sweeper);
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
    await Promise.allSettled([...this.starting.values()]);
    await this.closeAll('shutdown');
  }

  private async admit(session: Session, ignoreClosed: boolean): Promise<void> {
    if (!this.acceptingNew && !ignoreClosed) {
      this.refuse('LAB_CLOSED', 'The lab is closed to new sandboxes right now. Ask the instructor to open it.');
    }
    const mine = this.forSession(session.id).filter((s) => s.state === 'running');
    const startingMine = [...this.starting.keys()].filter((k) => k.startsWith(`${session.id}/`)).length;
    if (mine.length + startingMine >= this.policy.maxSandboxesPerSession) {
      // Reuse the slot of a sandbox nobody is looking at, oldest activity first.
      const idle = mine.filter((s) => s.viewerCount === 0).sort((a, b) => a.lastActivityAt - b.lastActivityAt)[0];
      if (!idle) {
        this.refuse(
          'SESSION_LIMIT',
          `You already have ${this.policy.maxSandboxesPerSession} sandboxes open, the most one learner may have. Close a lesson's tab to free one.`,
        );
      }
      await this.close(idle, 'closed', `This sandbox was closed to make room for a new one (at most ${this.policy.maxSandboxesPerSession} per learner).`);
    }
    if (this.size >= this.policy.maxSandboxes) {
      this.refuse('LAB_FULL', `The lab is full: ${this.size} of ${this.policy.maxSandboxes} sandboxes are in use. Try again in a few minutes.`);
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
      this.clearGrace(sandbox.id);
      return;
    }
    if (this.graceTimers.has(sandbox.id)) return;
    const timer = setTimeout(() => {
      this.graceTimers.delete(sandbox.id);
      if (sandbox.viewerCount === 0) void this.close(sandbox, 'abandoned');
    }, this.policy.graceMs);
    timer.unref();
    this.graceTimers.set(sandbox.id, timer);
  }

  private clearGrace(sandboxId: string): void {
    clearTimeout(this.graceTimers.get(sandboxId));
    this.graceTimers.delete(sandboxId);
  }

  private sweep(): void {
    const now = Date.now();
    for (const sandbox of this.all()) {
      if (sandbox.state !== 'running') continue;
      if (now - sandbox.createdAt > this.policy.maxLifetimeMs) void this.close(sandbox, 'lifetime');
      else if (now - sandbox.lastActivityAt > this.policy.idleMs) void this.close(sandbox, 'idle');
    }
  }

  private updateGauges(): void {
    if (!this.metrics) return;
    this.metrics.sandboxesLive.set(this.sandboxes.size);
    this.metrics.terminalsLive.set(this.all().reduce((sum, s) => sum + s.info().terminals.filter((t) => !t.exited).length, 0));
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
    }
  }
}
