/**
 * A real lab-server in a child process, started as `npm start` starts it (src/launch.ts), for tests that must kill
 * it, restart it, or measure it alone (its RSS and file descriptors are its own). Each one has its
 * own port, state directory and cgroup parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LabClient, type ConnectOptions } from '../../../lib/lab-client';
import { detectCgroupHost } from '../../src/cgroups/host';
import { parentDirs } from '../../src/cgroups/sandbox-cgroup';
import { LAB_SERVER_ARGS, labServerEnv } from '../../src/launch';
import { removeLabFootprint } from '../../src/sandbox/recovery';
import { removeTestProgressDb, TEST_ORIGIN, testLabName, testProgressDb } from './test-lab';

export interface LabChild {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything it printed (JSON log lines on stdout, startup failures on stderr). */
  output(): string;
  connect(options?: ConnectOptions): Promise<LabClient>;
  rss(): number;
  openFds(): number;
  /** Waits for the process to exit and returns its exit code. */
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The environment of a fresh, isolated lab-server; pass it again to restart "the same" lab. */
export async function labChildEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const name = testLabName();
  return {
    ISOLAB_HOST: '127.0.0.1',
    ISOLAB_PORT: String(await freePort()),
    ISOLAB_STATE_DIR: `/run/${name}`,
    ISOLAB_CGROUP_PARENT: name,
    ISOLAB_PROGRESS_DB: testProgressDb(name),
    ISOLAB_LOG_LEVEL: 'info',
    // As in test-lab.ts: the warm pool only where a test or benchmark asks for it.
    ISOLAB_WARM_SANDBOXES: '0',
    ...overrides,
  };
}

/** Starts lab-server; resolves once /healthz answers, or once it exits (see `waitReady`). */
export async function startLabChild(env: Record<string, string>, options: { waitReady?: boolean; readyTimeoutMs?: number } = {}): Promise<LabChild> {
  const child = spawn(process.execPath, [...LAB_SERVER_ARGS], {
    // The caller's environment wins over the allocator's, as it does for an operator in start.ts:
    // `LD_PRELOAD= npm run load` measures lab-server on glibc's malloc, for an A/B.
    env: { ...labServerEnv(), ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // If the test or benchmark dies first, its lab-server must not live on with its sandboxes.
  const stopWithParent = () => child.kill('SIGTERM');
  process.once('exit', stopWithParent);
  void exit.then(() => process.off('exit', stopWithParent));
  const url = `http://127.0.0.1:${env.ISOLAB_PORT}`;
  if (options.waitReady ?? true) {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`lab-server exited with code ${child.exitCode} while starting:\n${output}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // Not listening yet.
      }
      const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
      if (attempt > readyTimeoutMs / 100) throw new Error(`lab-server did not become ready in ${readyTimeoutMs / 1000} s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    name: env.ISOLAB_CGROUP_PARENT,
    env,
    url,
    process: child,
    output: () => output,
    connect: (connectOptions = {}) => LabClient.connect(url, { origin: TEST_ORIGIN, ...connectOptions }),
    rss: () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    openFds: () => readdirSync(`/proc/${child.pid}/fd`).length,
    exited: () => exit,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exit;
      }
    },
  };
}

/** Removes everything the lab named by `env` made on the host; for after its last stop. */
export function removeLabChildFootprint(env: Record<string, string>): Promise<void> {
  removeTestProgressDb(env.ISOLAB_CGROUP_PARENT);
  return removeLabFootprint({ stateDir: env.ISOLAB_STATE_DIR, cgroupParent: env.ISOLAB_CGROUP_PARENT, runcPath: env.ISOLAB_RUNC ?? 'runc', cgroupHost: detectCgroupHost() });
}

/** What a lab (by its env) left on the host: containers, sandbox cgroups, mounts, bundles. */
export function leftovers(env: Record<string, string>): { containers: string[]; cgroups: string[]; mounts: string[]; bundles: string[] } {
  const stateDir = env.ISOLAB_STATE_DIR;
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const host = detectCgroupHost();
  const cgroups = parentDirs(host, env.ISOLAB_CGROUP_PARENT).flatMap((dir) => list(dir).filter((entry) => entry.startsWith('sbx-')).map((entry) => join(dir, entry)));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountpoint) => mountpoint?.startsWith(`${stateDir}/`));
  return {
    containers: list(join(stateDir, 'runc')).filter((entry) => existsSync(join(stateDir, 'runc', entry, 'state.json'))),
    cgroups,
    mounts,
    bundles: list(join(stateDir, 'bundles')),
  };
}
