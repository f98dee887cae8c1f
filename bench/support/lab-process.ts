/**
 * Runs a real lab-server as a child process (`tsx lab-server/src/main.ts`) with its own port,
 * state directory and cgroup parent, so a benchmark measures it alone (its RSS is its own) and
 * never touches a lab a developer is running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { LabClient, type ConnectOptions } from '../../lib/lab-client';
import { detectCgroupHost } from '../../lab-server/src/cgroups/host';
import { removeLabFootprint } from '../../lab-server/src/sandbox/recovery';
import { sleep } from './stats';

export const BENCH_ORIGIN = 'http://localhost:3000';

export interface LabProcess {
  url: string;
  pid: number;
  name: string;
  env: Record<string, string>;
  connect(options?: ConnectOptions): Promise<LabClient>;
  /** Resident memory of lab-server now, in bytes. */
  rss(): number;
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

export async function startLabProcess(overrides: Record<string, string> = {}): Promise<LabProcess> {
  const name = `isolab-bench-${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const env = {
    ISOLAB_HOST: '127.0.0.1',
    ISOLAB_PORT: String(port),
    ISOLAB_STATE_DIR: `/run/${name}`,
    ISOLAB_CGROUP_PARENT: name,
    ISOLAB_LOG_LEVEL: 'warn',
    ISOLAB_MAX_SANDBOXES: '200',
    ISOLAB_MAX_SANDBOXES_PER_SESSION: '100',
    ...overrides,
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'lab-server/src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`lab-server exited with code ${child.exitCode} while starting`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (attempt > 200) throw new Error('lab-server did not become ready in 20 s');
    await sleep(100);
  }
  return {
    url,
    pid: child.pid!,
    name,
    env,
    connect: (options = {}) => LabClient.connect(url, { origin: BENCH_ORIGIN, ...options }),
    rss: () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await removeLabFootprint({ stateDir: env.ISOLAB_STATE_DIR, cgroupParent: env.ISOLAB_CGROUP_PARENT, runcPath: 'runc', cgroupHost: detectCgroupHost() });
    },
  };
}
