/**
 * What an operator sees when starting lab-server: a sentence that says what is wrong and what to
 * do, and an exit code, never a stack trace. Runs the real entry point as a process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { JEMALLOC_PATH } from '../src/launch';
import { freePort, labChildEnv, removeLabChildFootprint, startLabChild } from './support/lab-child';
import { checkOutput, openShell } from './support/shell';
import { testLabName } from './support/test-lab';

interface Outcome {
  code: number | null;
  output: string;
}

/** Starts `lab-server/src/main.ts` and collects its output until it exits or `untilOutput` appears. */
function startLabServer(env: Record<string, string>, options: { asUser?: string; untilOutput?: RegExp; keepFootprint?: boolean } = {}): Promise<Outcome> {
  const name = testLabName();
  const labEnv = { ISOLAB_HOST: '127.0.0.1', ISOLAB_STATE_DIR: `/run/${name}`, ISOLAB_CGROUP_PARENT: name, ...env };
  const command = options.asUser ? 'setpriv' : process.execPath;
  const entry = [process.execPath, '--import', 'tsx', 'lab-server/src/main.ts'];
  const args = options.asUser ? [`--reuid=${options.asUser}`, '--regid=nogroup', '--clear-groups', ...entry] : entry.slice(1);
  const child = spawn(command, args, {
    env: { ...process.env, ...labEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.untilOutput?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code) => void (options.keepFootprint ? Promise.resolve() : removeLabChildFootprint(labEnv)).then(() => resolve({ code, output })));
  });
}

describe('starting lab-server', () => {
  it('lists every bad setting at once and exits 2', async () => {
    const { code, output } = await startLabServer({ ISOLAB_MEMORY_LIMIT: 'lots', ISOLAB_PIDS_LIMIT: 'many' });
    expect(code).toBe(2);
    expect(output).toContain('ISOLAB_MEMORY_LIMIT="lots": "lots" is not a size; write it like 256M or 1G');
    expect(output).toContain('ISOLAB_PIDS_LIMIT="many"');
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says the rootfs is not built and how to build it', async () => {
    const { code, output } = await startLabServer({ ISOLAB_DATA_DIR: '/var/lib/isolab-nothing-here', ISOLAB_PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(output).toMatch(/rootfs is not built in \/var\/lib\/isolab-nothing-here\/rootfs\. Build it with "npm run rootfs"/);
    expect(output).toContain('[ROOTFS_NOT_BUILT]');
  });

  it('says runc is missing and how to install it', async () => {
    const { code, output } = await startLabServer({ ISOLAB_RUNC: '/nonexistent/runc', ISOLAB_PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(output).toContain('apt-get install -y runc');
    expect(output).toContain('[RUNC_MISSING]');
  });

  it('says it must run as root', async () => {
    const { code, output } = await startLabServer({ ISOLAB_PORT: String(await freePort()) }, { asUser: 'nobody' });
    expect(code).toBe(1);
    expect(output).toContain('lab-server must run as root');
    expect(output).toContain('[NOT_ROOT]');
  });

  it('says the port is busy', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const { code, output } = await startLabServer({ ISOLAB_PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toContain(`Port ${port} is busy: another lab-server may already be running`);
    } finally {
      blocker.close();
    }
  });

  it('refuses to share a state directory with a running lab-server, whose sandboxes carry on', async () => {
    const env = await labChildEnv();
    const first = await startLabChild(env);
    try {
      const client = await first.connect();
      const { term } = await openShell(client, 'class-in-progress');
      const { code, output } = await startLabServer({ ...env, ISOLAB_PORT: String(await freePort()) }, { keepFootprint: true });
      expect(code).toBe(1);
      expect(output).toContain(`Another lab-server (pid ${first.process.pid}) is already using ISOLAB_STATE_DIR=${env.ISOLAB_STATE_DIR}`);
      expect(output).toContain('[STATE_DIR_BUSY]');
      expect(await term.exec('echo class-goes-on')).toMatch(/^class-goes-on$/m);
      client.close();
    } finally {
      await first.stop();
      await removeLabChildFootprint(env);
    }
  });

  it('runs on jemalloc as npm start does, and no sandbox process inherits it', async () => {
    // setup.sh installs libjemalloc2; without it, this is what would silently be missing.
    expect(existsSync(JEMALLOC_PATH)).toBe(true);
    const env = await labChildEnv();
    const lab = await startLabChild(env);
    try {
      expect(readFileSync(`/proc/${lab.process.pid}/maps`, 'utf8')).toContain(JEMALLOC_PATH);
      const client = await lab.connect();
      const { sandbox, term } = await openShell(client, 'allocator');
      // The learner's shell and a check's process: neither the variable nor the library (the
      // library's host path would not even exist in the sandbox's root).
      expect(await term.exec('tr "\\0" "\\n" < /proc/$$/environ | grep -c ^LD_PRELOAD=; grep -c jemalloc /proc/$$/maps')).toMatch(/^0\r?\n0$/m);
      expect(await checkOutput(client, sandbox.sandboxId, 'env; cat /proc/self/maps')).not.toMatch(/LD_PRELOAD|jemalloc/);
      client.close();
    } finally {
      await lab.stop();
      await removeLabChildFootprint(env);
    }
  });

  it('when all is well, logs JSON lines, prints the instructor URL, and shuts down cleanly on SIGTERM', async () => {
    const { code, output } = await startLabServer({ ISOLAB_PORT: String(await freePort()) }, { untilOutput: /Instructor dashboard: \S+#token=\S+/ });
    expect(code).toBe(0);
    const ready = output.split('\n').find((line) => line.includes('"lab-server ready"'));
    expect(JSON.parse(ready!)).toMatchObject({ level: 'info', service: 'lab-server', cgroupMode: expect.stringMatching(/v1|v2|hybrid/) });
    expect(output).toMatch(/Instructor dashboard: http:\/\/localhost:3000\/instructor#token=[A-Za-z0-9_-]{32}/);
    expect(output).toContain('"shutting down: closing every sandbox"');
  });
});
