/**
 * The classroom: the roster, the instructor's broadcast, spotlights, and the class state the
 * dashboard shows.
 *
 * Followers and the instructor's spotlight attach to terminals as viewers that do not govern
 * flow control: a slow projector or a learner's slow laptop never slows the terminal it watches,
 * and falls back to a fresh screen instead (see LabTerminal). Nobody but the owner can type into
 * a terminal, because input is only ever looked up through the sender's own session.
 */
import type { ClassState, LearnerSummary, Mirror, Role } from '../../../protocol';
import type { CgroupHost } from '../cgroups/host';
import { LabError } from '../errors';
import type { Logger } from '../log';
import { cgroupStatsReader } from '../observe/cgroup-stats';
import type { Lab } from '../sandbox/lab';
import type { Sandbox } from '../sandbox/sandbox';
import type { LabTerminal, TerminalViewer } from '../sandbox/terminal';
import type { SessionStore } from '../session/session-store';
import type { ClassCode } from './class-code';
import type { ClassRoster } from './roster';

/** How the classroom reaches connections; the socket server provides it. */
export interface ClassroomOutbox {
  toLearners(event: 'class:broadcast-status', payload: { active: boolean }): void;
  toSession(sessionId: string, event: 'class:spotlighted', payload: { active: boolean }): void;
  /** Cuts every connection of a session. */
  disconnectSession(sessionId: string): void;
}

/**
 * The other lab nodes of the class, when there are several (cluster/wiring.ts). Each call acts
 * on them only; this classroom acts on its own node itself.
 */
export interface ClassPeers {
  endAll(): Promise<number>;
  resetLearner(sessionId: string): Promise<number>;
  setOpen(open: boolean): Promise<void>;
  setCode(code: string | null): Promise<void>;
  /** How many sessions with an old class code they ended. */
  endOldCode(): Promise<number>;
  /** No node takes these sessions in again by a token it learnt from another. */
  forgetSessions(sessionIds: string[]): Promise<void>;
  /** Their learners, each marked with its node. */
  learners(): Promise<LearnerSummary[]>;
  /** Sandboxes in use on every node, this one included, and the class's limit. */
  sandboxes(): Promise<{ live: number; max: number }>;
  /** This node's name, to mark its own learners. */
  readonly nodeId: string;
  /**
   * A copy of the terminal of a learner whose sandbox is on another node; undefined if no node
   * has one. `ended` runs when it ends from the far side (the sandbox closed, the node stopped).
   */
  spotlight(learnerSessionId: string, ended: () => void): Promise<RemoteSpotlight | undefined>;
  /** This node's instructor broadcasts `terminal`: the other nodes follow it through their replicas. */
  broadcastStarted(terminal: LabTerminal): void;
  broadcastStopped(): void;
}

/** A spotlight on another node's learner, seen here through a copy of the terminal (cluster/spotlight-relay.ts). */
export interface RemoteSpotlight {
  terminal: LabTerminal;
  sandboxId: string;
  /** The instructor looked away: the learner's node stops relaying. */
  end(): void;
}

export interface ClassWatcher {
  id: string;
  sendState(state: ClassState): void;
}

interface Broadcast {
  sessionId: string;
  terminal: LabTerminal;
  /** Several nodes: a copy of a broadcast running on another node (cluster/broadcast-replica.ts). */
  replica?: boolean;
}

interface Spotlight {
  learnerSessionId: string;
  terminal: LabTerminal;
  viewerId: string;
  /** Runs once when the spotlight ends, for whatever reason (several nodes: the other side ends too). */
  ended?: () => void;
  /** The learner is on another node, which shows them the badge. */
  remote?: boolean;
}

const NO_SANDBOX_TO_LOOK_AT = 'This learner has no running sandbox to look at.';

/** Learners who left are still listed (as disconnected) for this long. */
const ABSENT_LEARNERS_KEPT_MS = 2 * 60 * 60 * 1000;
/** The dashboard is refreshed at most this often, and at least this often while watched. */
const STATE_MIN_INTERVAL_MS = 1000;
const STATE_REFRESH_MS = 2000;

export class Classroom {
  private outbox: ClassroomOutbox | undefined;
  private readonly watchers = new Map<string, ClassWatcher>();
  private readonly instructorSessions = new Set<string>();
  private readonly followers = new Map<string, { sessionId: string; terminal: LabTerminal }>();
  private readonly spotlights = new Map<string, Spotlight>();
  private readonly renameListeners = new Set<(sessionId: string, displayName: string) => void>();
  private broadcast: Broadcast | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private lastPushAt = 0;
  private disposed = false;
  private readonly refresher: NodeJS.Timeout;

  constructor(
    private readonly lab: Lab,
    private readonly roster: ClassRoster,
    private readonly cgroupHost: CgroupHost,
    private readonly logger: Logger,
    private readonly admission: { classCode: ClassCode; sessions: SessionStore },
    private readonly peers?: ClassPeers,
  ) {
    this.refresher = setInterval(() => {
      this.roster.sweep(ABSENT_LEARNERS_KEPT_MS);
      if (this.watchers.size > 0) this.changed();
    }, STATE_REFRESH_MS);
    this.refresher.unref();
    lab.onSandboxClosed((sandbox) => {
      if (this.broadcast && sandbox.terminal(this.broadcast.terminal.id)) this.stopBroadcast();
      for (const [viewerId, spotlight] of this.spotlights) if (sandbox.terminal(spotlight.terminal.id)) this.endSpotlight(viewerId);
      this.changed();
    });
    // "Get ready for N learners" shows its progress as warm sandboxes become ready.
    lab.onPoolChanged(() => this.changed());
  }

  attach(outbox: ClassroomOutbox): void {
    this.outbox = outbox;
  }

  // ---- connections --------------------------------------------------------------------------

  /**
   * A connection arrived. Returns what it must be told at once: whether a broadcast is live, and
   * whether the instructor is viewing this session's terminal (a reloaded page must show the
   * badge again, or a learner could be watched without knowing).
   */
  connected(sessionId: string, displayName: string, role: Role): { broadcasting: boolean; spotlighted: boolean } {
    if (role === 'instructor') {
      this.instructorSessions.add(sessionId);
    } else {
      const learner = this.roster.ensure(sessionId, displayName);
      this.roster.update(sessionId, { connections: learner.connections + 1, lastSeenAt: Date.now() });
      this.changed();
    }
    const spotlighted = [...this.spotlights.values()].some((spotlight) => spotlight.learnerSessionId === sessionId);
    return { broadcasting: Boolean(this.broadcast), spotlighted };
  }

  disconnected(sessionId: string, role: Role, socketId: string): void {
    this.watchers.delete(socketId);
    this.endSpotlight(socketId);
    this.unfollow(socketId);
    if (role === 'learner') {
      const learner = this.roster.get(sessionId);
      if (learner) this.roster.update(sessionId, { connections: Math.max(0, learner.connections - 1), lastSeenAt: Date.now() });
      this.changed();
    }
  }

  // ---- learners -----------------------------------------------------------------------------

  rename(sessionId: string, displayName: string): void {
    this.roster.update(sessionId, { displayName });
    for (const listener of this.renameListeners) listener(sessionId, displayName);
    this.changed();
  }

  /** Calls `listener` when a learner picks a new name (the class record follows). */
  onRename(listener: (sessionId: string, displayName: string) => void): void {
    this.renameListeners.add(listener);
  }

  /** Where the learner is; what they passed comes only from `recorded`. */
  progress(sessionId: string, lessonSlug: string | null, stepId: string | null): void {
    if (!this.roster.get(sessionId)) return;
    this.roster.update(sessionId, { lessonSlug, stepId, lastActivityAt: Date.now() });
    this.changed();
  }

  /**
   * The class record's view of a learner (progress/class-progress.ts): their verified passes,
   * and whether the record keeps them listed while they are away.
   */
  recorded(sessionId: string, displayName: string, passed: Record<string, string[]>, lastActivityAt: number, kept = true): void {
    const known = this.roster.get(sessionId);
    this.roster.ensure(sessionId, displayName);
    this.roster.update(sessionId, { passed, kept, lastActivityAt: known ? Math.max(known.lastActivityAt, lastActivityAt) : lastActivityAt });
    this.changed();
  }

  /** The class record was cleared (of everyone, or of one learner): no passes, and learners who are away drop off the list. */
  clearedRecords(sessionId?: string): void {
    for (const learner of this.roster.all()) {
      if (sessionId !== undefined && learner.sessionId !== sessionId) continue;
      if (learner.connections === 0) this.roster.remove(learner.sessionId);
      else this.roster.update(learner.sessionId, { passed: {}, kept: false });
    }
    this.changed();
  }

  /**
   * Starts following the broadcast: the follower gets the current screen, then live output.
   * Returns the terminal it now views, and what the page needs to show it.
   */
  async follow(socketId: string, sessionId: string, makeViewer: (terminal: LabTerminal) => TerminalViewer): Promise<{ terminal: LabTerminal; mirror: Mirror }> {
    const broadcast = this.broadcast;
    if (!broadcast) throw new LabError('NOT_FOUND', 'The instructor is not broadcasting right now.');
    this.unfollow(socketId);
    const snapshot = await broadcast.terminal.attach(makeViewer(broadcast.terminal));
    this.followers.set(socketId, { sessionId, terminal: broadcast.terminal });
    this.changed();
    const { terminal } = broadcast;
    return { terminal, mirror: { terminalId: terminal.id, cols: terminal.cols, rows: terminal.rows, snapshot } };
  }

  /** Stops following; returns the terminal that was followed, if any. */
  unfollow(socketId: string): string | undefined {
    const following = this.followers.get(socketId);
    if (!following) return undefined;
    following.terminal.detach(socketId);
    this.followers.delete(socketId);
    this.changed();
    return following.terminal.id;
  }

  // ---- the instructor -----------------------------------------------------------------------

  async watch(watcher: ClassWatcher): Promise<ClassState> {
    this.watchers.set(watcher.id, watcher);
    return this.withPeers(this.state());
  }

  startBroadcast(sessionId: string, terminal: LabTerminal): void {
    if (this.broadcast?.terminal === terminal) return;
    this.stopBroadcast();
    this.broadcast = { sessionId, terminal };
    this.outbox?.toLearners('class:broadcast-status', { active: true });
    this.logger.info('broadcast started', { sessionId, terminalId: terminal.id });
    this.peers?.broadcastStarted(terminal);
    this.changed();
  }

  /** Several nodes: another node's broadcast, copied here, is what this node's learners follow. */
  followReplica(terminal: LabTerminal): void {
    if (this.broadcast && !this.broadcast.replica) return;
    this.stopBroadcast();
    this.broadcast = { sessionId: '', terminal, replica: true };
    this.outbox?.toLearners('class:broadcast-status', { active: true });
    this.changed();
  }

  /** The replica's broadcast ended (or its node stopped); a broadcast of this node's own stays. */
  dropReplica(): void {
    if (this.broadcast?.replica) this.stopBroadcast();
  }

  stopBroadcast(): void {
    if (!this.broadcast) return;
    if (!this.broadcast.replica) this.peers?.broadcastStopped();
    for (const [socketId, following] of this.followers) {
      following.terminal.detach(socketId);
      this.followers.delete(socketId);
    }
    this.broadcast = undefined;
    this.outbox?.toLearners('class:broadcast-status', { active: false });
    this.changed();
  }

  /**
   * Shows the instructor a learner's terminal, read-only, and tells the learner. Returns it as
   * follow() does. With several nodes, a learner whose sandbox is elsewhere is seen through a
   * copy of their terminal.
   */
  async spotlight(
    viewerId: string,
    learnerSessionId: string,
    makeViewer: (terminal: LabTerminal) => TerminalViewer,
  ): Promise<{ terminal: LabTerminal; mirror: Mirror & { sandboxId: string } }> {
    if (this.hasSandbox(learnerSessionId) || !this.peers) return this.spotlightHere(viewerId, learnerSessionId, makeViewer);
    this.endSpotlight(viewerId);
    let remote: RemoteSpotlight | undefined;
    remote = await this.peers.spotlight(learnerSessionId, () => {
      if (remote && this.spotlights.get(viewerId)?.terminal === remote.terminal) this.endSpotlight(viewerId);
    });
    if (!remote) throw new LabError('NOT_FOUND', NO_SANDBOX_TO_LOOK_AT);
    const { terminal } = remote;
    let snapshot: string;
    try {
      snapshot = await terminal.attach(makeViewer(terminal));
    } catch (error) {
      // The copy ended while attaching: the learner's node must stop relaying and drop the badge.
      remote.end();
      throw error;
    }
    // Another spotlight of this viewer may have started meanwhile: it ends, not leaks.
    this.endSpotlight(viewerId);
    this.spotlights.set(viewerId, { learnerSessionId, terminal, viewerId, ended: remote.end, remote: true });
    this.changed();
    return { terminal, mirror: { sandboxId: remote.sandboxId, terminalId: terminal.id, cols: terminal.cols, rows: terminal.rows, snapshot } };
  }

  /** The spotlight on a learner of this node; `ended` runs once when it ends. */
  async spotlightHere(
    viewerId: string,
    learnerSessionId: string,
    makeViewer: (terminal: LabTerminal) => TerminalViewer,
    ended?: () => void,
  ): Promise<{ terminal: LabTerminal; mirror: Mirror & { sandboxId: string } }> {
    const sandbox = this.mostRecent(this.lab.forSession(learnerSessionId));
    const terminal = sandbox?.info().terminals.find((t) => !t.exited);
    if (!sandbox || !terminal) throw new LabError('NOT_FOUND', NO_SANDBOX_TO_LOOK_AT);
    this.endSpotlight(viewerId);
    const labTerminal = sandbox.terminal(terminal.terminalId)!;
    const snapshot = await labTerminal.attach(makeViewer(labTerminal));
    this.spotlights.set(viewerId, { learnerSessionId, terminal: labTerminal, viewerId, ended });
    this.outbox?.toSession(learnerSessionId, 'class:spotlighted', { active: true });
    this.changed();
    return { terminal: labTerminal, mirror: { sandboxId: sandbox.id, terminalId: labTerminal.id, cols: labTerminal.cols, rows: labTerminal.rows, snapshot } };
  }

  hasSandbox(sessionId: string): boolean {
    return this.lab.forSession(sessionId).length > 0;
  }

  /** Ends the viewer's spotlight; returns the terminal that was watched, if any. */
  endSpotlight(viewerId: string): string | undefined {
    const spotlight = this.spotlights.get(viewerId);
    if (!spotlight) return undefined;
    spotlight.terminal.detach(viewerId);
    this.spotlights.delete(viewerId);
    spotlight.ended?.();
    if (!spotlight.remote && ![...this.spotlights.values()].some((s) => s.learnerSessionId === spotlight.learnerSessionId)) {
      this.outbox?.toSession(spotlight.learnerSessionId, 'class:spotlighted', { active: false });
    }
    this.changed();
    return spotlight.terminal.id;
  }

  /** Closes the learner's sandboxes, on whichever node they are. */
  async resetLearner(sessionId: string): Promise<number> {
    const here = this.resetLearnerHere(sessionId);
    const there = (await this.peers?.resetLearner(sessionId)) ?? 0;
    await here.closed;
    return here.count + there;
  }

  /** Starts closing the learner's sandboxes on this node: how many, and when they are gone. */
  resetLearnerHere(sessionId: string): { count: number; closed: Promise<unknown> } {
    return this.closeAll(this.lab.forSession(sessionId));
  }

  /** Ends every learner's sandbox, on every node; the instructors' own demo sandboxes carry on. */
  async endAll(): Promise<number> {
    const here = this.endAllHere();
    const there = (await this.peers?.endAll()) ?? 0;
    await here.closed;
    return here.count + there;
  }

  endAllHere(): { count: number; closed: Promise<unknown> } {
    return this.closeAll(this.lab.all().filter((sandbox) => !this.instructorSessions.has(sandbox.ownerSessionId)));
  }

  private closeAll(sandboxes: Sandbox[]): { count: number; closed: Promise<unknown> } {
    return { count: sandboxes.length, closed: Promise.all(sandboxes.map((sandbox) => this.lab.close(sandbox, 'instructor'))) };
  }

  /** Opens or closes the class to new sandboxes, on every node. */
  async setOpen(open: boolean): Promise<boolean> {
    this.setOpenHere(open);
    await this.peers?.setOpen(open);
    return open;
  }

  setOpenHere(open: boolean): void {
    this.lab.acceptingNew = open;
    this.logger.info(open ? 'lab opened to new sandboxes' : 'lab closed to new sandboxes');
    this.changed();
  }

  /** Sets or removes the class code, on every node. */
  async setCode(code: string | null): Promise<string | null> {
    const current = this.setCodeHere(code);
    await this.peers?.setCode(current);
    return current;
  }

  setCodeHere(code: string | null): string | null {
    const current = this.admission.classCode.set(code);
    this.logger.info(current ? 'class code set' : 'class code removed');
    this.changed();
    return current;
  }

  /**
   * Ends every learner session that joined without the current class code, on every node: its
   * sandboxes close, its connections are cut and its token is forgotten, so coming back needs the
   * current code.
   */
  async endOldCode(): Promise<number> {
    const [here, there] = await Promise.all([this.endOldCodeHere(), this.peers?.endOldCode() ?? 0]);
    return here + there;
  }

  async endOldCodeHere(): Promise<number> {
    const old = this.roster.all().filter((learner) => !this.instructorSessions.has(learner.sessionId) && this.isOldCode(learner.sessionId));
    await Promise.all(old.map((learner) => this.resetLearnerHere(learner.sessionId).closed));
    // Before they are cut off: a page reconnects at once, and must not be taken in on its token.
    await this.peers?.forgetSessions(old.map((learner) => learner.sessionId));
    for (const learner of old) {
      this.admission.sessions.forget(learner.sessionId);
      this.outbox?.disconnectSession(learner.sessionId);
      this.roster.remove(learner.sessionId);
    }
    this.logger.info('sessions with an old class code ended', { count: old.length });
    this.changed();
    return old.length;
  }

  private isOldCode(sessionId: string): boolean {
    return this.admission.classCode.isOld(this.admission.sessions.byId(sessionId));
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.refresher);
    clearTimeout(this.pushTimer);
  }

  // ---- state --------------------------------------------------------------------------------

  /** Something the dashboard shows changed: push at most once a second. */
  changed(): void {
    if (this.watchers.size === 0 || this.pushTimer) return;
    const wait = Math.max(0, this.lastPushAt + STATE_MIN_INTERVAL_MS - Date.now());
    this.pushTimer = setTimeout(() => void this.push(), wait);
    this.pushTimer.unref();
  }

  private async push(): Promise<void> {
    // A push reads every learner's cgroup files (the glances): while a class is getting its
    // sandboxes it waits, so the learners' prompts go first (changes meanwhile join this push).
    await this.lab.claimsSettled();
    this.pushTimer = undefined;
    if (this.disposed) return;
    this.lastPushAt = Date.now();
    const state = await this.withPeers(await this.stateWithGlances());
    for (const watcher of this.watchers.values()) watcher.sendState(state);
  }

  state(): ClassState {
    const spotlighted = new Set([...this.spotlights.values()].map((s) => s.learnerSessionId));
    const following = new Set([...this.followers.values()].map((f) => f.sessionId));
    const learners: LearnerSummary[] = this.roster
      .all()
      .filter((learner) => !this.instructorSessions.has(learner.sessionId))
      .map((learner) => {
        const sandboxes = this.lab.forSession(learner.sessionId);
        const sandboxActivity = Math.max(0, ...sandboxes.map((s) => s.lastActivityAt));
        return {
          sessionId: learner.sessionId,
          displayName: learner.displayName,
          connected: learner.connections > 0,
          lessonSlug: learner.lessonSlug,
          stepId: learner.stepId,
          passed: learner.passed,
          lastActivityAt: Math.max(learner.lastActivityAt, sandboxActivity),
          sandbox: null,
          spotlighted: spotlighted.has(learner.sessionId),
          following: following.has(learner.sessionId),
          oldCode: this.isOldCode(learner.sessionId),
        };
      })
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
    const broadcast = this.broadcast ? { terminalId: this.broadcast.terminal.id, cols: this.broadcast.terminal.cols, rows: this.broadcast.terminal.rows } : null;
    const classCode = { code: this.admission.classCode.current, oldSessions: learners.filter((learner) => learner.oldCode).length };
    return {
      learners,
      stepPasses: stepPasses(learners),
      labOpen: this.lab.acceptingNew,
      broadcast,
      sandboxes: { live: this.lab.size, max: this.lab.maxSandboxes },
      warmPool: this.lab.warmPool(),
      classCode,
    };
  }

  /**
   * With several nodes: this node's learners marked with its name, and the other nodes' added.
   * A learner listed by two nodes (moved after a node stopped, or back from a restarted one) is
   * shown once: connected if either says so, with every step either recorded.
   */
  private async withPeers(state: ClassState): Promise<ClassState> {
    if (!this.peers) return state;
    let others: LearnerSummary[] = [];
    let sandboxes = state.sandboxes;
    try {
      [others, sandboxes] = await Promise.all([this.peers.learners(), this.peers.sandboxes()]);
    } catch (error) {
      this.logger.warn('the other lab nodes\' learners could not be read; the dashboard shows this node\'s only', { err: error });
    }
    const merged = new Map<string, LearnerSummary>();
    for (const learner of [...state.learners.map((l) => ({ ...l, node: this.peers!.nodeId })), ...others]) {
      const seen = merged.get(learner.sessionId);
      if (!seen) {
        merged.set(learner.sessionId, learner);
        continue;
      }
      const [first, second] = learner.connected && !seen.connected ? [learner, seen] : [seen, learner];
      const passed = { ...second.passed };
      for (const [lesson, steps] of Object.entries(first.passed)) passed[lesson] = [...new Set([...(passed[lesson] ?? []), ...steps])];
      merged.set(learner.sessionId, { ...first, passed, lastActivityAt: Math.max(first.lastActivityAt, second.lastActivityAt), sandbox: first.sandbox ?? second.sandbox });
    }
    const learners = [...merged.values()].sort((a, b) => a.displayName.localeCompare(b.displayName));
    return { ...state, learners, stepPasses: stepPasses(learners), sandboxes };
  }

  /** This node's learners as the dashboard shows them, with glances (what the other nodes read). */
  async localLearners(): Promise<LearnerSummary[]> {
    return (await this.stateWithGlances()).learners.map((learner) => ({ ...learner, node: this.peers?.nodeId }));
  }

  /** The state plus a memory and pids glance at each learner's most recent sandbox. */
  private async stateWithGlances(): Promise<ClassState> {
    const state = this.state();
    await Promise.all(
      state.learners.map(async (learner) => {
        const sandbox = this.mostRecent(this.lab.forSession(learner.sessionId));
        if (!sandbox) return;
        try {
          const stats = await cgroupStatsReader(this.cgroupHost, sandbox.cgroup.cgroupsPath)();
          learner.sandbox = {
            sandboxId: sandbox.id,
            memoryBytes: stats.memory.currentBytes,
            memoryLimitBytes: stats.memory.limitBytes,
            pids: stats.pids.current,
            pidsMax: stats.pids.max,
          };
        } catch {
          // The sandbox ended between listing and reading: no glance this time.
        }
      }),
    );
    return state;
  }

  private mostRecent(sandboxes: Sandbox[]): Sandbox | undefined {
    return sandboxes.filter((s) => s.state === 'running').sort((a, b) => b.lastActivityAt - a.lastActivityAt)[0];
  }
}

/** Per lesson, per step: how many of these learners passed it. */
function stepPasses(learners: LearnerSummary[]): ClassState['stepPasses'] {
  const passes: ClassState['stepPasses'] = {};
  for (const learner of learners) {
    for (const [lesson, steps] of Object.entries(learner.passed)) {
      passes[lesson] ??= {};
      for (const step of steps) passes[lesson][step] = (passes[lesson][step] ?? 0) + 1;
    }
  }
  return passes;
}
