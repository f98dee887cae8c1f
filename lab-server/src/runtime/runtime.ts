/**
 * The native edge of lab-server: a container runtime with an interface the size of node-pty's.
 *
 * `RuncRuntime` is the real one. Unit tests may plug in a fake beside it; server tests run the
 * real one, since runc works on every machine the lab runs on.
 */
import type { TerminalSize } from '../../../protocol';

export type { TerminalSize };

export interface Disposable {
  dispose(): void;
}

/** A process attached to a pty: what node-pty's spawn() returns, reduced to what a terminal uses. */
export interface PtyProcess {
  readonly pid: number;
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


export interface ContainerRuntime {
  /** Starts the container in `bundleDir` with its init process on a new pty (`runc run`). */
  run(containerId: string, bundleDir: string, size: TerminalSize): PtyProcess;
  /** Starts another process on a new pty in a running container (`runc exec -t`). */
  exec(containerId: string, argv: string[], size: TerminalSize): PtyProcess;
  /** Runs a process without a tty and collects its output, cut at `maxOutputBytes` per stream. */
  execCaptured(containerId: string, argv: string[], options: { timeoutMs: number; maxOutputBytes: number }): Promise<CapturedRun>;
  /** True once the container exists in the runtime's state (it was created, and may be running). */
  exists(containerId: string): boolean;
  /** Kills every process of the container and removes its state. Quiet if it is already gone. */
  destroy(containerId: string): Promise<void>;
  /** Ids of every container in the lab's own state directory. */
  list(): Promise<string[]>;
  /** The pid of the container's init on the host, while it runs. */
  initPid(containerId: string): number | undefined;
}
