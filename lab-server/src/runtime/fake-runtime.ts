/**
 * A container runtime without containers, for unit tests of what sits above it (Sandbox, Lab):
 * each container is a FakePty whose output and exit the test plays, checks answer when the test
 * says, and a test can make a start fail or a teardown leave processes behind. Needs no root and
 * no runc. The real one is RuncRuntime (runtime/runc-runtime.ts).
 */
import type { SandboxCgroupDirs } from '../cgroups/sandbox-cgroup';
import { FakePty } from './fake-pty';
import type { CapturedRun, ContainerRuntime, ContainerSpec, TerminalSize } from './runtime';

export interface FakeContainer {
  spec: ContainerSpec;
  /** The init process's pty; `runc run`'s, in the real runtime. */
  init: FakePty;
  /** Every `runc exec -t` pty, in order. */
  execs: FakePty[];
}

/** A check the test has not answered yet. */
export interface PendingCheck {
  argv: string[];
  answer(run: Partial<CapturedRun>): void;
}

export class FakeRuntime implements ContainerRuntime {
  /** Containers made and not yet destroyed. */
  readonly containers = new Map<string, FakeContainer>();
  /** Ids destroyed, once per destroy call. */
  readonly destroyed: string[] = [];
  readonly checks: PendingCheck[] = [];
  /**
   * How the next containers start: the shell prints its prompt, runc fails and exits with an
   * error, or nothing is printed at all (a start that hangs).
   */
  startup: 'prompt' | 'runc-fails' | 'silent' = 'prompt';
  /** Processes that would not die: teardown cannot remove these containers' cgroups. */
  readonly unkillable = new Set<string>();

  cgroupOf(containerId: string): SandboxCgroupDirs {
    const dir = `/fake-cgroup/${containerId}`;
    return { cgroupsPath: `/lab/${containerId}`, dirs: [dir], delegated: [dir] };
  }

  async create(containerId: string, spec: ContainerSpec, _size: TerminalSize): Promise<FakePty> {
    const init = new FakePty();
    this.containers.set(containerId, { spec, init, execs: [] });
    // Output comes later than the pty, as a real process's does.
    if (this.startup === 'prompt') setImmediate(() => init.output('root@sandbox:~# '));
    if (this.startup === 'runc-fails') {
      setImmediate(() => {
        this.containers.delete(containerId);
        init.output('runc run failed: unable to start container process\r\n');
        init.exit(1);
      });
    }
    return init;
  }

  exec(containerId: string, _argv: string[], _size: TerminalSize): FakePty {
    const pty = new FakePty();
    this.containers.get(containerId)?.execs.push(pty);
    return pty;
  }

  execCaptured(_containerId: string, argv: string[]): Promise<CapturedRun> {
    return new Promise((resolve) => {
      this.checks.push({
        argv,
        answer: (run) => resolve({ exitCode: 0, stdout: '', stderr: '', truncated: false, timedOut: false, durationMs: 1, ...run }),
      });
    });
  }

  exists(containerId: string): boolean {
    return this.containers.has(containerId);
  }

  async destroy(containerId: string): Promise<string[]> {
    this.destroyed.push(containerId);
    const container = this.containers.get(containerId);
    this.containers.delete(containerId);
    container?.init.exit(137);
    return this.removeCgroups(containerId);
  }

  async removeCgroups(containerId: string): Promise<string[]> {
    return this.unkillable.has(containerId) ? this.cgroupOf(containerId).dirs : [];
  }

  pidsIn(dirs: string[]): number[] {
    return dirs.map((_, index) => 5000 + index);
  }

  async list(): Promise<string[]> {
    return [...this.containers.keys()];
  }

  initPid(containerId: string): number | undefined {
    return this.containers.get(containerId)?.init.pid;
  }
}
