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
import { spawnChild } from './spawner';

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
