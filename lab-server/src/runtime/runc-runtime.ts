/**
 * The lab's container runtime: runc (runtime/runc.ts), and everything a container needs on the
 * host before runc sees it and after it is gone. Before: its cgroups, handed to its root; its
 * user namespaces with their limits (runtime/userns-limits.ts); its OCI bundle (runtime/bundle.ts).
 * After: all three removed. A sandbox knows none of this; it asks for a container and gets a pty.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupHost } from '../cgroups/host';
import { cgroupPids, killCgroupTree, prepareSandboxCgroup, removeCgroupTree, sandboxCgroupDirs, type SandboxCgroupDirs } from '../cgroups/sandbox-cgroup';
import type { Logger } from '../log';
import { writeBundle } from './bundle';
import { Runc } from './runc';
import type { CapturedRun, ContainerRuntime, ContainerSpec, PtyProcess, TerminalSize } from './runtime';
import { sandboxUserNamespace } from './userns-limits';

export interface RuncRuntimeOptions {
  runcPath: string;
  /** runc's --root: the lab's private container state directory. */
  stateRoot: string;
  cgroupHost: CgroupHost;
  /** The cgroup under which every container's cgroup is made (one per lab). */
  cgroupParent: string;
  /** Host directory holding one bundle directory per container. */
  bundlesDir: string;
  /** A read-only view of bundlesDir that runc bind-mounts files from (see runtime/readonly-view.ts). */
  bundlesView?: string;
  /** isolab-ns, which makes each container's user namespaces. */
  nsHelper: string;
  swapAccounting: boolean;
  /** Told once if the kernel refuses a shell's short scheduler slice (runc.ts). */
  onSliceRefused?: (message: string) => void;
  /** Where a slow or hung teardown step is reported (TEARDOWN_SLOW). */
  logger?: Logger;
}

/** A teardown step this slow is worth a warning even when it ends on its own (TEARDOWN_STEP_MS is its bound). */
const TEARDOWN_SLOW_MS = 2_000;

export class RuncRuntime implements ContainerRuntime {
  readonly runc: Runc;
  /** User namespaces held for containers that runc has not joined yet (see create). */
  private readonly heldNamespaces = new Map<string, () => void>();

  constructor(private readonly options: RuncRuntimeOptions) {
    this.runc = new Runc(options.runcPath, options.stateRoot, options.nsHelper, options.onSliceRefused);
  }

  cgroupOf(containerId: string): SandboxCgroupDirs {
    return sandboxCgroupDirs(this.options.cgroupHost, this.options.cgroupParent, containerId);
  }

  async create(containerId: string, spec: ContainerSpec, size: TerminalSize): Promise<PtyProcess> {
    const { options } = this;
    const cgroup = this.cgroupOf(containerId);
    const userNamespace = sandboxUserNamespace(options.nsHelper, spec.hostUid);
    userNamespace.catch(() => undefined); // awaited below
    try {
      prepareSandboxCgroup(options.cgroupHost, options.cgroupParent, cgroup, spec.hostUid);
    } catch (error) {
      void userNamespace.then((held) => held.release(), () => undefined);
      throw error;
    }
    const { path: userNamespacePath, release } = await userNamespace;
    this.heldNamespaces.set(containerId, release);
    const bundleDir = join(options.bundlesDir, containerId);
    writeBundle(bundleDir, {
      sandboxId: containerId,
      hostname: spec.hostname,
      rootfsPath: spec.rootfsView,
      uidBase: spec.hostUid,
      userNamespacePath,
      cgroupsPath: cgroup.cgroupsPath,
      cgroupMode: options.cgroupHost.mode,
      swapAccounting: options.swapAccounting,
      limits: spec.limits,
      bundleView: options.bundlesView && join(options.bundlesView, containerId),
    });
    const pty = this.runc.run(containerId, bundleDir, size);
    // runc has joined the namespace once the container exists and something is printed (or it
    // gave up, if it exits): the helper that held the namespace may go.
    const joined = [pty.onData(() => this.runc.exists(containerId) && letGo()), pty.onExit(() => letGo())];
    const letGo = () => {
      for (const subscription of joined) subscription.dispose();
      this.releaseNamespace(containerId);
    };
    return pty;
  }

  exec(containerId: string, argv: string[], size: TerminalSize): PtyProcess {
    return this.runc.exec(containerId, argv, size);
  }

  execCaptured(containerId: string, argv: string[], options: { timeoutMs: number; maxOutputBytes: number }): Promise<CapturedRun> {
    return this.runc.execCaptured(containerId, argv, options);
  }

  exists(containerId: string): boolean {
    return this.runc.exists(containerId);
  }

  initPid(containerId: string): number | undefined {
    return this.runc.initPid(containerId);
  }

  list(): Promise<string[]> {
    return this.runc.list();
  }

  async destroy(containerId: string): Promise<string[]> {
    this.releaseNamespace(containerId);
    const steps = [await this.runc.killAll(containerId)];
    const { dirs } = this.cgroupOf(containerId);
    // runc killed mid-kill may leave the cgroup frozen (v1 freezer, v2 cgroup.freeze), with
    // every process in it still there: SIGKILL them through the cgroup, then thaw it, so they
    // wake into their pending kill. Then delete has nothing left to wait for.
    if (steps[0].timedOut) for (const dir of dirs) killCgroupTree(dir);
    steps.push(await this.runc.delete(containerId));
    if (steps[1].timedOut || this.runc.exists(containerId)) {
      for (const dir of dirs) killCgroupTree(dir);
      steps.push(await this.runc.delete(containerId));
    }
    if (steps.some((s) => s.timedOut || s.ms >= TEARDOWN_SLOW_MS)) {
      const cut = steps.some((s) => s.timedOut);
      this.options.logger?.warn(cut ? "a sandbox's runc teardown timed out; its processes were killed through its cgroup" : "a sandbox's runc teardown was slow", {
        code: 'TEARDOWN_SLOW',
        sandboxId: containerId,
        steps,
        stateLeft: this.runc.exists(containerId),
      });
    }
    const leftovers = await this.removeCgroups(containerId);
    rmSync(join(this.options.bundlesDir, containerId), { recursive: true, force: true });
    return leftovers;
  }

  async removeCgroups(containerId: string, attempts?: number): Promise<string[]> {
    return (await Promise.all(this.cgroupOf(containerId).dirs.map((dir) => removeCgroupTree(dir, attempts)))).flat();
  }

  pidsIn(dirs: string[]): number[] {
    return [...new Set(dirs.flatMap((dir) => cgroupPids(dir)))];
  }

  private releaseNamespace(containerId: string): void {
    this.heldNamespaces.get(containerId)?.();
    this.heldNamespaces.delete(containerId);
  }
}
