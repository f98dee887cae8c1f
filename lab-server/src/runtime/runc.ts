/**
 * runc, driven through its command line: the same OCI runtime Docker uses. This is runc alone;
 * what a container needs on the host around it (cgroups, user namespaces, its bundle) is
 * RuncRuntime's (runtime/runc-runtime.ts), the lab's ContainerRuntime.
 *
 * Every call passes `--root` with the lab's own state directory, so lab-server never sees or
 * touches containers that belong to anything else on the host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_RLIMITS } from './oci-spec';
import { TEARDOWN_STEP_MS, type CapturedRun, type PtyProcess, type TerminalSize } from './runtime';
import { spawnHostPty } from './host-pty';
import { shortenShellSlice } from './ns-helper';
import { loopStalls } from '../loop-stalls';
import { runChecked, runProcess, spawnChild } from './spawner';

/** runc only needs a PATH; nothing of lab-server's environment should leak into it. */
const RUNC_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/** `prlimit` (util-linux) arguments that start runc, and so every sandbox process, with SANDBOX_RLIMITS. */
const PRLIMIT_ARGS = Object.entries(SANDBOX_RLIMITS).map(([name, { soft, hard }]) => `--${name}=${soft}:${hard}`);

/** After runc is killed at a step's timeout, how long its end may take to be reported. */
const TEARDOWN_KILL_GRACE_MS = 1_000;

/** One runc step of a teardown: how long it took, and whether it was cut short. */
export interface TeardownStep {
  step: 'kill' | 'delete';
  ms: number;
  timedOut: boolean;
}

export class Runc {
  constructor(
    private readonly runcPath: string,
    /** runc's --root: the lab's private container state directory. */
    private readonly stateRoot: string,
    /**
     * isolab-ns, to give each terminal's shell a short scheduler slice (ns-helper.ts
     * SHELL_SLICE_NS). Without it (recovery, benchmarks of bare runc) shells keep the default.
     */
    private readonly nsHelper?: string,
    /** Told once if the kernel refuses the short slice: terminals work, only slower under load. */
    private readonly onSliceRefused?: (message: string) => void,
  ) {}

  /** Starts the container in `bundleDir` with its init process on a new pty (`runc run`). */
  run(containerId: string, bundleDir: string, size: TerminalSize): PtyProcess {
    return this.spawnPty(['run', '--bundle', bundleDir, containerId], size, bundleDir);
  }

  exec(containerId: string, argv: string[], size: TerminalSize): PtyProcess {
    return this.spawnPty(['exec', '--tty', containerId, ...argv], size);
  }

  execCaptured(containerId: string, argv: string[], options: { timeoutMs: number; maxOutputBytes: number }): Promise<CapturedRun> {
    const started = performance.now();
    // `timeout` inside the sandbox ends the command itself; killing runc would only orphan it.
    const seconds = (options.timeoutMs / 1000).toFixed(3);
    const child = spawnChild('prlimit', this.limitedArgs(['exec', containerId, '/usr/bin/timeout', '--kill-after=1', seconds, ...argv]), {
      env: RUNC_ENV,
      maxOutputBytes: options.maxOutputBytes,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.on('stdout', (chunk) => stdout.push(chunk));
    child.on('stderr', (chunk) => stderr.push(chunk));
    let timedOut = false;
    // A backstop in case runc itself hangs: the inner timeout has 1 s to act, then 2 s of slack.
    const backstop = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs + 3000);
    return new Promise((resolve) => {
      child.on('error', (error) => stderr.push(Buffer.from(String(error))));
      child.on('close', ({ code, signal, truncated }) => {
        clearTimeout(backstop);
        const durationMs = performance.now() - started;
        // coreutils timeout exits 124 after TERM, or 137 after its KILL.
        if ((code === 124 || code === 137) && durationMs >= options.timeoutMs) timedOut = true;
        resolve({
          exitCode: signal ? null : code,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          truncated,
          timedOut,
          durationMs: Math.round(durationMs),
        });
      });
    });
  }

  exists(containerId: string): boolean {
    return existsSync(join(this.stateRoot, containerId, 'state.json'));
  }

  initPid(containerId: string): number | undefined {
    try {
      const state = JSON.parse(readFileSync(join(this.stateRoot, containerId, 'state.json'), 'utf8')) as { init_process_pid?: number };
      return state.init_process_pid;
    } catch {
      return undefined;
    }
  }

  /**
   * Kills every process of the container and removes its state, each step waiting at most
   * `stepMs`. Quiet if it is already gone. What a step that timed out left (a frozen cgroup,
   * processes, the state) is the caller's to remove: RuncRuntime.destroy, or recovery's sweep.
   */
  async destroy(containerId: string, stepMs = TEARDOWN_STEP_MS): Promise<TeardownStep[]> {
    return [await this.killAll(containerId, stepMs), await this.delete(containerId, stepMs)];
  }

  /**
   * `runc kill --all`: freezes the container's cgroup, signals every process in it and its
   * children, then thaws, so a fork bomb cannot outrun it.
   */
  killAll(containerId: string, stepMs = TEARDOWN_STEP_MS): Promise<TeardownStep> {
    return this.bounded('kill', ['kill', '--all', containerId, 'KILL'], stepMs);
  }

  /** `runc delete --force`: kills the init if it still runs, waits for it, removes the state and cgroups. */
  delete(containerId: string, stepMs = TEARDOWN_STEP_MS): Promise<TeardownStep> {
    return this.bounded('delete', ['delete', '--force', containerId], stepMs);
  }

  async list(): Promise<string[]> {
    if (!existsSync(this.stateRoot)) return [];
    const stdout = await runChecked(this.runcPath, this.args(['list', '--quiet']), { env: RUNC_ENV });
    return stdout.split('\n').filter(Boolean);
  }

  private args(args: string[]): string[] {
    return ['--root', this.stateRoot, ...args];
  }

  /** Arguments for `prlimit` that run runc with `args` under SANDBOX_RLIMITS (for run and exec). */
  private limitedArgs(args: string[]): string[] {
    return [...PRLIMIT_ARGS, '--', this.runcPath, ...this.args(args)];
  }

  /**
   * Runs a teardown step, waiting at most `stepMs` of the time lab-server was running (a pause of
   * the whole box, a VM snapshot, must not count: runc was paused too); then runc is killed. A
   * non-zero exit is "container does not exist" or "not running": already the state we want.
   */
  private bounded(step: TeardownStep['step'], args: string[], stepMs: number): Promise<TeardownStep> {
    const started = performance.now();
    const startedAt = Date.now();
    const child = spawnChild(this.runcPath, this.args(args), { env: RUNC_ENV });
    return new Promise((resolve) => {
      let timedOut = false;
      let settled = false;
      let backstop: { cancel(): void } | undefined;
      const settle = () => {
        if (settled) return;
        settled = true;
        timer.cancel();
        backstop?.cancel();
        const ms = performance.now() - started - loopStalls.stalledSince(startedAt);
        resolve({ step, ms: Math.max(0, Math.round(ms)), timedOut });
      };
      // runc that could not start at all reports 'error', then 'close'.
      child.on('error', () => undefined);
      child.on('close', settle);
      const timer = loopStalls.timeout(stepMs, () => {
        timedOut = true;
        child.kill('SIGKILL');
        // Killed runc reports its end once its pipes close; a child of it that kept them open
        // would keep that from ever happening, so the wait has a bound of its own.
        backstop = loopStalls.timeout(TEARDOWN_KILL_GRACE_MS, settle);
      });
    });
  }

  private sliceRefusalTold = false;

  private shortenSlice(helper: string, runcPid: number): void {
    shortenShellSlice(helper, runcPid).then(
      ({ ok, message }) => {
        if (ok || this.sliceRefusalTold) return;
        this.sliceRefusalTold = true;
        this.onSliceRefused?.(message);
      },
      () => undefined, // the helper could not start: the lab's start checked it, so it is going away
    );
  }

  private spawnPty(args: string[], size: TerminalSize, cwd?: string): PtyProcess {
    const pty = spawnHostPty('prlimit', this.limitedArgs(args), { env: { ...RUNC_ENV, TERM: 'xterm-256color' }, cwd: cwd ?? '/', cols: size.cols, rows: size.rows });
    // runc keeps `opost onlcr` on its own side of the pty (it turns ONLCR off on the container's
    // side), so the kernel turns each "\n" into "\r\n" here. Cooked output is the kernel's slow
    // path: on this machine kind a pty moves about 9 MB/s cooked and 100 MB/s raw. So once runc
    // has set its terminal up (it has when anything is printed), lab-server takes OPOST off and
    // adds the "\r" itself, which is exactly what ONLCR does. If stty fails, or runc's setup comes
    // later after all, some lines get "\r\r\n", which looks the same on every terminal.
    const listeners = new Set<(data: string) => void>();
    let addCarriageReturns = false;
    pty.onData((output) => {
      const data = addCarriageReturns ? output.replaceAll('\n', '\r\n') : output;
      for (const listener of listeners) listener(data);
      if (!addCarriageReturns) {
        addCarriageReturns = true;
        runProcess('stty', ['-F', pty.ptsName, '-opost'], { env: RUNC_ENV }).catch(() => undefined);
        // The first output is the shell's (runc prints nothing on success), so by now it runs as
        // runc's child (runc is its subreaper; prlimit became runc).
        if (this.nsHelper && pty.pid !== undefined) this.shortenSlice(this.nsHelper, pty.pid);
      }
    });
    return {
      onData: (listener) => {
        listeners.add(listener);
        return { dispose: () => listeners.delete(listener) };
      },
      onExit: (listener) => pty.onExit(listener),
      write: (data) => pty.write(data),
      resize: (cols, rows) => pty.resize(cols, rows),
      pause: () => pty.pause(),
      resume: () => pty.resume(),
      kill: (signal) => pty.kill(signal),
    };
  }
}
