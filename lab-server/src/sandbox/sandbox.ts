/**
 * A sandbox: one container owned by one learner session, and the terminals attached to it.
 *
 * The sandbox owns everything it makes: its host identity, the container (with what the runtime
 * made for it on the host: cgroups, bundle) and its terminals. `close()` removes all of them,
 * whatever state they are in, and is safe to call more than once.
 */
import { randomBytes } from 'node:crypto';
import type { CheckResult, CloseReason, SandboxInfo, TerminalKind, TerminalSize } from '../../../protocol';
import type { SandboxCgroupDirs } from '../cgroups/sandbox-cgroup';
import { LabError, startFailure } from '../errors';
import type { Logger } from '../log';
import type { ContainerLimits } from '../runtime/oci-spec';
import type { ContainerRuntime, PtyProcess } from '../runtime/runtime';
import type { HostIdentities, SandboxIdentity } from './identity';
import { TERMINAL_START_SLOT_MS, type ExecGate } from './exec-gate';
import { LabTerminal } from './terminal';

export interface SandboxEnvironment {
  /** Makes and ends containers: runc, cgroups, user namespaces, bundles (runtime/runtime.ts). */
  runtime: ContainerRuntime;
  /** Gives each sandbox its host uid range and its view of the rootfs. */
  identities: Pick<HostIdentities, 'acquire' | 'release'>;
  limits: ContainerLimits;
  maxTerminals: number;
  /** How long the shell may take to print its first output before the start counts as failed. */
  startTimeoutMs: number;
  /** The lab-wide cap on runc execs and the per-session check rate. */
  execGate: ExecGate;
  logger: Logger;
}

export interface SandboxHooks {
  /** The init shell exited or the container died: the sandbox must be closed. */
  onInitExit(sandbox: Sandbox, exitCode: number): void;
  /** Viewers attached or left, or input arrived. */
  onUsage(sandbox: Sandbox): void;
  onTerminalOutput?(chars: number): void;
  onTerminalEcho?(shellMs: number, sendMs: number): void;
}

export type SandboxState = 'starting' | 'running' | 'closing' | 'closed';

const INITIAL_SIZE: TerminalSize = { cols: 80, rows: 24 };
const CHECK_OUTPUT_BYTES = 16 * 1024;
const SHELL = ['/bin/bash', '-l'];

export const newSandboxId = () => `sbx-${randomId()}`;
const newTerminalId = () => `term-${randomId()}`;
function randomId(): string {
  // 8 chars of [a-z0-9]; hostnames and container ids must stay simple.
  return [...randomBytes(8)].map((byte) => (byte % 36).toString(36)).join('');
}

export class Sandbox {
  state: SandboxState = 'starting';
  /** When its learner got it: a warm sandbox's lifetime starts at its claim. */
  createdAt = Date.now();
  lastActivityAt = Date.now();
  closeReason: CloseReason | undefined;
  readonly cgroup: SandboxCgroupDirs;
  /** Taken at start, given back once every process of the sandbox is gone. */
  private identity: SandboxIdentity | undefined;
  private identityReleased = false;
  /** Cgroup directories that teardown could not remove (processes that would not die): the lab still counts them. */
  leftoverCgroups: string[] = [];
  private readonly terminals = new Map<string, LabTerminal>();
  private checkRunning = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly id: string,
    /** Empty while the sandbox waits in the warm pool; set once, by `claim`. */
    public key: string,
    public ownerSessionId: string,
    private readonly env: SandboxEnvironment,
    private readonly hooks: SandboxHooks,
  ) {
    this.cgroup = env.runtime.cgroupOf(id);
  }

  get hostname(): string {
    return this.id;
  }

  /**
   * Takes a host identity and starts the container with its init shell on a pty. Resolves once
   * the shell has printed something; throws SPAWN_FAILED (after cleaning up) if the container
   * ends first or does not print in time.
   */
  static async start(id: string, key: string, ownerSessionId: string, env: SandboxEnvironment, hooks: SandboxHooks): Promise<Sandbox> {
    const sandbox = new Sandbox(id, key, ownerSessionId, env, hooks);
    try {
      await sandbox.startContainer();
      sandbox.state = 'running';
      return sandbox;
    } catch (error) {
      await sandbox.close('failed');
      throw startFailure(error) ?? error;
    }
  }

  private async startContainer(): Promise<void> {
    const { env } = this;
    const identity = (this.identity = await env.identities.acquire());
    const pty = await env.runtime.create(this.id, { hostname: this.hostname, hostUid: identity.hostUid, rootfsView: identity.rootfsView, limits: env.limits }, INITIAL_SIZE);
    // Everything runc prints before the shell starts is an error message; keep it for the log.
    let earlyOutput = '';
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabError('SPAWN_FAILED', 'The sandbox did not start in time. Try again.', { earlyOutput })), env.startTimeoutMs);
      const data = pty.onData((chunk) => {
        earlyOutput += chunk;
        if (env.runtime.exists(this.id)) done(resolve);
      });
      const exit = pty.onExit(({ exitCode }) =>
        done(() => reject(new LabError('SPAWN_FAILED', 'The sandbox could not be started. The lab server log has the details.', { exitCode, runcOutput: earlyOutput.slice(0, 2000) }))),
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        data.dispose();
        exit.dispose();
        settle();
      };
    });
    this.addTerminal('run', pty, INITIAL_SIZE);
    await started;
  }

  /** Gives a warm sandbox (one without an owner) to a learner, for good. */
  claim(ownerSessionId: string, key: string): void {
    if (this.ownerSessionId !== '') throw new Error(`sandbox ${this.id} already belongs to a session`);
    this.ownerSessionId = ownerSessionId;
    this.key = key;
    this.createdAt = this.lastActivityAt = Date.now();
  }

  /** Starts another shell in the running container (runc exec -t). */
  openTerminal(size: TerminalSize): LabTerminal {
    this.assertRunning();
    const live = [...this.terminals.values()].filter((t) => !t.exit).length;
    if (live >= this.env.maxTerminals) {
      throw new LabError('TERMINAL_LIMIT', `This sandbox already has ${live} of ${this.env.maxTerminals} terminals open. Close one to open another.`);
    }
    const release = this.env.execGate.forTerminal();
    let pty: PtyProcess;
    try {
      pty = this.env.runtime.exec(this.id, SHELL, size);
    } catch (error) {
      release();
      throw error;
    }
    // runc's work is done once the shell prints (or it fails): the slot is free again.
    const started = [pty.onData(() => startedUp()), pty.onExit(() => startedUp())];
    const timer = setTimeout(() => startedUp(), TERMINAL_START_SLOT_MS);
    const startedUp = () => {
      clearTimeout(timer);
      release();
      for (const subscription of started) subscription.dispose();
    };
    return this.addTerminal('exec', pty, size);
  }

  /** Terminals whose process still runs (for the lab's gauge; no allocation, it is asked on every viewer change). */
  get liveTerminals(): number {
    let count = 0;
    for (const terminal of this.terminals.values()) if (!terminal.exit) count++;
    return count;
  }

  terminal(terminalId: string): LabTerminal | undefined {
    return this.terminals.get(terminalId);
  }

  /** Ends an exec terminal. The run terminal is the sandbox itself: close the sandbox instead. */
  closeTerminal(terminalId: string): void {
    const terminal = this.terminals.get(terminalId);
    if (!terminal || terminal.kind === 'run') return;
    this.terminals.delete(terminalId);
    terminal.dispose();
    this.hooks.onUsage(this);
  }

  /** How many viewers are attached across all terminals. */
  get viewerCount(): number {
    let count = 0;
    for (const terminal of this.terminals.values()) count += terminal.viewerCount;
    return count;
  }

  /** Runs a command with bash, without a tty, under a timeout. One check at a time per sandbox. */
  async runCheck(command: string, timeoutMs: number): Promise<CheckResult> {
    this.assertRunning();
    if (this.checkRunning) throw new LabError('CHECK_BUSY', 'A check is already running in this sandbox. Wait for it to finish.');
    this.checkRunning = true;
    this.touch();
    try {
      const release = await this.env.execGate.forCheck(this.ownerSessionId);
      try {
        return await this.env.runtime.execCaptured(this.id, ['/bin/bash', '-c', command], { timeoutMs, maxOutputBytes: CHECK_OUTPUT_BYTES });
      } finally {
        release();
      }
    } finally {
      this.checkRunning = false;
    }
  }

  info(): SandboxInfo {
    return {
      sandboxId: this.id,
      key: this.key,
      hostname: this.hostname,
      createdAt: this.createdAt,
      limits: { memoryBytes: this.env.limits.memoryBytes, pids: this.env.limits.pids, cpus: this.env.limits.cpus },
      terminals: [...this.terminals.values()].map((t) => ({ terminalId: t.id, kind: t.kind, cols: t.cols, rows: t.rows, exited: Boolean(t.exit) })),
    };
  }

  /** The host uid of root in this sandbox (the start of its uid and gid range). */
  get hostUid(): number | undefined {
    return this.identity?.hostUid;
  }

  /** The container's init process on the host, while it runs. */
  initPid(): number | undefined {
    return this.env.runtime.initPid(this.id);
  }

  touch(): void {
    this.lastActivityAt = Date.now();
  }

  /**
   * Kills every process, removes the container state, its cgroups and its bundle. Idempotent.
   * The sandbox is closing (no longer usable) at once; `schedule` may run the teardown later, when
   * the lab's spawn queue has a slot for it.
   */
  close(reason: CloseReason, schedule: (teardown: () => Promise<void>) => Promise<void> = (teardown) => teardown()): Promise<void> {
    if (!this.closing) {
      this.state = 'closing';
      this.closeReason = reason;
      this.closing = schedule(() => this.teardown());
    }
    return this.closing;
  }

  private async teardown(): Promise<void> {
    // A shell started by `runc exec` is runc's child, and runc reaps it. A runc exec that does not
    // (one caught mid-start was seen to hang with its child a zombie) keeps the container alive:
    // its dying init waits for every process of its PID namespace to be reaped, so `runc delete`
    // cannot finish and the sandbox stays. So the exec terminals' runc processes go first, with
    // SIGKILL (runc passes any other signal on to the shell); their shells then belong to the
    // container's init and die with the container.
    for (const terminal of this.terminals.values()) if (terminal.kind === 'exec') terminal.dispose('SIGKILL');
    this.leftoverCgroups = await this.env.runtime.destroy(this.id);
    for (const terminal of this.terminals.values()) terminal.dispose();
    if (this.leftoverCgroups.length > 0) {
      // Processes may be left in them: their host uids must not go to a new sandbox, and the lab
      // keeps counting the sandbox until a sweep removes them (see Lab.retryLeftovers).
      this.env.logger.warn('cgroup directories could not be removed; the sandbox still counts against the lab and its host uid range stays taken', {
        sandboxId: this.id,
        code: 'CGROUP_LEFTOVER',
        leftovers: this.leftoverCgroups,
        processes: this.leftoverPids(),
        hostUid: this.hostUid,
      });
    }
    this.releaseIdentityIfGone();
    this.state = 'closed';
  }

  /** The processes still in the cgroups teardown could not remove. */
  leftoverPids(): number[] {
    return this.env.runtime.pidsIn(this.leftoverCgroups);
  }

  /**
   * Tries (again) to remove the sandbox's cgroups; what remains is kept in leftoverCgroups. Once
   * nothing remains, every process is gone and the host uid range can go to a new sandbox.
   */
  async removeLeftovers(attempts?: number): Promise<void> {
    this.leftoverCgroups = await this.env.runtime.removeCgroups(this.id, attempts);
    this.releaseIdentityIfGone();
  }

  private releaseIdentityIfGone(): void {
    if (this.leftoverCgroups.length > 0 || !this.identity || this.identityReleased) return;
    this.env.identities.release(this.identity);
    this.identityReleased = true;
  }

  private addTerminal(kind: TerminalKind, pty: PtyProcess, size: TerminalSize): LabTerminal {
    const terminal: LabTerminal = new LabTerminal(newTerminalId(), kind, pty, size, {
      onActivity: () => this.touch(),
      onViewersChanged: () => {
        this.touch();
        this.hooks.onUsage(this);
      },
      onOutput: (chars) => this.hooks.onTerminalOutput?.(chars),
      onEcho: (shellMs, sendMs) => this.hooks.onTerminalEcho?.(shellMs, sendMs),
      onExit: (exitCode) => {
        if (kind === 'run') {
          if (this.state === 'running') this.hooks.onInitExit(this, exitCode);
        } else {
          // Its viewers have been told; an ended exec terminal frees its slot.
          this.closeTerminal(terminal.id);
        }
      },
    });
    this.terminals.set(terminal.id, terminal);
    return terminal;
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new LabError('NOT_FOUND', 'This sandbox has ended. Start a new one.');
  }
}
