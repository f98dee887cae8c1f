/**
 * isolab-ns (lab-server/native/isolab-ns.c): the namespace work that needs a single-threaded
 * process, which Node is not. lab-server starts it on the host, before a sandbox exists; it never
 * executes anything after entering a namespace (see the file's header for why).
 *
 * It is built from source with the host's C compiler (node-pty's native addon already needs one)
 * the first time lab-server starts, and again whenever the source is newer than the binary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, spawnChild } from './spawner';

const NATIVE_DIR = join(import.meta.dirname, '..', '..', 'native');
const SOURCE = join(NATIVE_DIR, 'isolab-ns.c');
const BINARY = join(NATIVE_DIR, 'build', 'isolab-ns');
const SYSTEM_PATH = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/** The helper's path, built first if it is missing or older than its source. Throws a sentence if it cannot be built. */
export function ensureNsHelper(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(join(NATIVE_DIR, 'build'), { recursive: true });
  // Built beside and renamed into place, so labs starting at the same moment never run half a file.
  const building = `${BINARY}.${process.pid}`;
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', building, SOURCE], { env: SYSTEM_PATH, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    throw new Error(`Could not build lab-server's namespace helper from ${SOURCE} (${detail.split('\n')[0]}). Install a C compiler: apt-get install -y gcc`);
  }
  renameSync(building, BINARY);
  return BINARY;
}

export interface HeldNamespace {
  /** A path runc can join the namespace by. Valid until release(). */
  readonly path: string;
  /** Lets the helper exit; the namespace lives on in the processes that joined it. */
  release(): void;
}

/**
 * Starts the helper in a mode that makes a namespace, prints "ready PID" and holds it until its
 * stdin closes. Resolves with /proc/PID/ns/<kind>.
 */
export function holdNamespace(helper: string, args: string[], kind: string): Promise<HeldNamespace> {
  const child = spawnChild(helper, args, { env: SYSTEM_PATH, stdin: true });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.on('stderr', (chunk) => (stderr = (stderr + chunk.toString()).slice(0, 2000)));
    child.on('stdout', (chunk) => {
      stdout += chunk.toString();
      const pid = /^ready (\d+)\n/.exec(stdout)?.[1];
      if (pid) resolve({ path: `/proc/${pid}/ns/${kind}`, release: () => child.end() });
    });
    child.on('error', reject);
    child.on('close', ({ code }) => reject(new Error(stderr.trim() || `isolab-ns ${args[0]} exited with code ${code}`)));
  });
}

/**
 * The scheduler slice a terminal's shell asks for: 0.5 ms, where the default is 0.7 ms × (1 +
 * log2 CPUs), 1.4 ms on 2 cores.
 *
 * Why: under a class, a shell woken by a keystroke waited for a CPU behind the sandboxes running
 * commands (`perf sched timehist` of the load test: 25-40 ms at the tail on a busy box, several
 * shells released together), where the echo itself takes 0.03-0.25 ms of CPU. Since Linux 6.12
 * (EEVDF) a task may ask for a shorter slice: it then has an earlier deadline, so a woken shell is
 * picked before a hog that is in the middle of its slice, and the shortest slice of a cgroup's
 * tasks is its own at every level up, so the shell's sandbox and the lab's group of sandboxes move
 * ahead with it. It gives no more CPU: the share is still the weight's, and the quota still caps
 * the sandbox (any process may already ask this for itself; limits.test.ts shows it gains
 * nothing). Not the kernel's shortest (0.1 ms): bash's run per wakeup is up to 0.25 ms at p99, and
 * a slice shorter than that cuts an echo in two; 0.1 and 0.5 ms halved the shells' mean wait
 * alike. SCHED_FLAG_RESET_ON_FORK keeps it to the shell: the commands a learner runs get the
 * default slice. Kernels before 6.12 (Debian 12's 6.1, CFS) accept the call and ignore it.
 */
export const SHELL_SLICE_NS = 500_000;

/**
 * Gives the children of `parentPid` (a terminal's runc; its child is the sandbox's shell)
 * SHELL_SLICE_NS. Through the spawner, off the event loop; resolves false (with the helper's
 * message) if the kernel refused.
 */
export async function shortenShellSlice(helper: string, parentPid: number): Promise<{ ok: boolean; message: string }> {
  const result = await runProcess(helper, ['short-slice', String(SHELL_SLICE_NS), String(parentPid)], { env: SYSTEM_PATH, timeoutMs: 5000 });
  return { ok: result.exitCode === 0, message: result.stderr.trim() };
}
