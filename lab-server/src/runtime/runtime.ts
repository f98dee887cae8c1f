/**
 * The native edge of lab-server: everything a sandbox asks of the host, behind one interface the
 * size of node-pty's. A sandbox (sandbox/sandbox.ts) decides when to start, open, check and end;
 * the runtime knows how: runc, cgroups, user namespaces and OCI bundles.
 *
 * `RuncRuntime` (runtime/runc-runtime.ts) is the real one. `FakeRuntime` (runtime/fake-runtime.ts)
 * stands beside it for unit tests without root; server tests run the real one, since runc works
 * on every machine the lab runs on.
 */
import type { TerminalSize } from '../../../protocol';
import type { SandboxCgroupDirs } from '../cgroups/sandbox-cgroup';
import type { ContainerLimits } from './oci-spec';

export type { TerminalSize };

/**
 * How long one runc step of a teardown (kill, delete) may take. Both take well under a second
 * even on a loaded box; one that hangs (a cgroup v1 freezer that does not settle, an init that
 * cannot be reaped) must not hold a spawn slot, or two of them stop every sandbox start.
 */
export const TEARDOWN_STEP_MS = 5_000;

export interface Disposable {
  dispose(): void;
}

/** A process attached to a pty: what node-pty's spawn() returns, reduced to what a terminal uses. */
export interface PtyProcess {
  onData(listener: (data: string) => void): Disposable;
  onExit(listener: (exit: { exitCode: number; signal?: number }) => void): Disposable;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Stops reading output, so the process blocks once the pty buffer is full (flow control). */
  pause(): void;
  resume(): void;
  /** Ends the process; quiet if it is already gone. */
  kill(signal?: string): void;
}

export interface CapturedRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** What one container is: who it runs as on the host, what it sees and what it may use. */
export interface ContainerSpec {
  hostname: string;
  /** The host uid (and gid) of root inside; the container maps MAPPED_ID_COUNT ids from it. */
  hostUid: number;
  /** The rootfs as that identity sees it (sandbox/identity.ts). */
  rootfsView: string;
  limits: ContainerLimits;
}

export interface ContainerRuntime {
  /** The container's cgroup directories, made or not yet: where its meters and processes are. */
  cgroupOf(containerId: string): SandboxCgroupDirs;
  /**
   * Makes what the container needs on the host (its cgroups, handed to its root; its user
   * namespaces; its OCI bundle) and starts it with its init process on a new pty (`runc run`).
   * Whatever it made before a failure is removed by `destroy`.
   */
  create(containerId: string, spec: ContainerSpec, size: TerminalSize): Promise<PtyProcess>;
  /** Starts another process on a new pty in a running container (`runc exec -t`). */
  exec(containerId: string, argv: string[], size: TerminalSize): PtyProcess;
  /** Runs a process without a tty and collects its output, cut at `maxOutputBytes` per stream. */
  execCaptured(containerId: string, argv: string[], options: { timeoutMs: number; maxOutputBytes: number }): Promise<CapturedRun>;
  /** True once the container exists in the runtime's state (it was created, and may be running). */
  exists(containerId: string): boolean;
  /**
   * Kills every process of the container and removes its state, its bundle and its cgroups. Quiet
   * if it is already gone. Returns the cgroup directories that could not be removed (processes
   * that would not die): empty once everything is gone.
   */
  destroy(containerId: string): Promise<string[]>;
  /** Tries again to remove what `destroy` left of the container's cgroups; returns what is still left. */
  removeCgroups(containerId: string, attempts?: number): Promise<string[]>;
  /** The processes in some cgroup directories and their children (what `destroy` left, say). */
  pidsIn(dirs: string[]): number[];
  /** Ids of every container in the lab's own state directory. */
  list(): Promise<string[]>;
  /** The pid of the container's init on the host, while it runs. */
  initPid(containerId: string): number | undefined;
}
