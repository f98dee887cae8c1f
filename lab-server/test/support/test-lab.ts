/**
 * Starts a real lab-server for a test file: real runc, real cgroups, the real rootfs. Each test
 * lab has its own state directory and cgroup parent, so test files can run side by side and
 * next to a running lab without touching each other's sandboxes.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import type { CgroupStats } from '../../../protocol';
import { LabClient, type ConnectOptions } from '../../../lib/lab-client';
import { cgroupStatsReader } from '../../src/observe/cgroup-stats';
import { loadConfig, type LabConfig } from '../../src/config';
import { createLogger, silentLogger } from '../../src/log';
import { preflight } from '../../src/preflight';
import { removeLabFootprint } from '../../src/sandbox/recovery';
import type { Sandbox } from '../../src/sandbox/sandbox';
import { openShell, type Shell } from './shell';
import { bound, SLOWDOWN } from './slowdown';
import { startLabServer, type LabServer } from '../../src/server';

export const TEST_ORIGIN = 'http://localhost:3000';

export interface TestLab {
  server: LabServer;
  config: LabConfig;
  url: string;
  connect(options?: ConnectOptions): Promise<LabClient>;
  /** A sandbox's cgroup figures, read as the product's meters read them. */
  cgroupStats(sandboxId: string): Promise<CgroupStats>;
  close(): Promise<void>;
}

/**
 * A sandbox by id, as the tests look at it from the host (its cgroups, its init's pid, its host
 * uid); undefined once it is gone. The lab itself never finds a sandbox without its session.
 */
export function sandboxById(server: LabServer, sandboxId: string): Sandbox | undefined {
  return server.lab.all().find((sandbox) => sandbox.id === sandboxId);
}

/** A unique name for this test lab's cgroup parent and state directory. */
export function testLabName(): string {
  return `isolab-test-${randomBytes(3).toString('hex')}`;
}

/** Where a test lab keeps its class record: a directory of its own, removed by `removeTestProgressDb`. */
export function testProgressDb(name: string): string {
  return `/tmp/${name}-record/progress.db`;
}

export function removeTestProgressDb(name: string): void {
  rmSync(`/tmp/${name}-record`, { recursive: true, force: true });
}

export function testEnv(name: string, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ISOLAB_HOST: '127.0.0.1',
    ISOLAB_PORT: '0',
    ISOLAB_STATE_DIR: `/run/${name}`,
    ISOLAB_CGROUP_PARENT: name,
    // A class record of its own, in the state directory's tmpfs (removed with the lab's footprint).
    ISOLAB_PROGRESS_DB: testProgressDb(name),
    // No warm pool unless a test asks for one: its background starts would change the counts
    // that other tests assert, and cost CPU on a box that runs many test labs at once.
    ISOLAB_WARM_SANDBOXES: '0',
    // A slow host (see slowdown.ts) gives a sandbox's shell longer to start.
    ...(SLOWDOWN > 1 ? { ISOLAB_START_TIMEOUT_SECONDS: String(bound(15)) } : {}),
    ...overrides,
  };
}

export async function startTestLab(overrides: Record<string, string> = {}): Promise<TestLab> {
  const name = testLabName();
  const config = loadConfig(testEnv(name, overrides));
  const { problems, facts } = preflight(config);
  const errors = problems.filter((p) => p.level === 'error');
  if (errors.length > 0) throw new Error(`The test lab cannot start:\n${errors.map((e) => e.message).join('\n')}`);
  const logger = process.env.ISOLAB_TEST_LOGS ? createLogger('debug', { test: name }) : silentLogger;
  const server = await startLabServer({ config, logger, cgroupHost: facts.cgroupHost!, swapAccounting: facts.swapAccounting, runcVersion: facts.runcVersion ?? '' });
  const clients: LabClient[] = [];
  return {
    server,
    config,
    url: server.url,
    async connect(options: ConnectOptions = {}) {
      const client = await LabClient.connect(server.url, { origin: TEST_ORIGIN, timeoutMs: bound(10_000), requestTimeoutMs: bound(30_000), ...options });
      clients.push(client);
      return client;
    },
    cgroupStats(sandboxId: string) {
      return cgroupStatsReader(facts.cgroupHost!, sandboxById(server, sandboxId)!.cgroup.cgroupsPath)();
    },
    async close() {
      for (const client of clients) client.close();
      await server.close();
      await removeLabFootprint({ stateDir: config.stateDir, cgroupParent: config.cgroupParent, runcPath: facts.runcPath ?? 'runc', cgroupHost: facts.cgroupHost! });
      removeTestProgressDb(name);
    },
  };
}

export interface LabContext {
  lab: TestLab;
  client: LabClient;
  /** The init shell of a sandbox opened for the file, when `shellKey` was given. */
  shell: Shell;
}

/**
 * The usual frame of a server test file: one test lab for the file, one connected client, and
 * optionally one sandbox's shell. `receive` gets them once they exist; the lab is closed after
 * the file's last test.
 */
export function useTestLab(options: { env?: Record<string, string>; shellKey?: string }, receive: (context: LabContext) => void): void {
  let lab: TestLab | undefined;
  beforeAll(async () => {
    lab = await startTestLab(options.env);
    const client = await lab.connect();
    const shell = options.shellKey ? await openShell(client, options.shellKey) : (undefined as unknown as Shell);
    receive({ lab, client, shell });
  });
  afterAll(() => lab?.close());
}
