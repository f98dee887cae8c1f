/**
 * Faults: lab-server killed with -9 mid-session, a browser that vanishes without closing, runc
 * missing or failing, and a full disk. Each fault must end in a clean state or a clear sentence.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LabRequestError } from '../../lib/lab-client';
import { processesInPidNamespace, sleep, uniqueName } from './support/attack';
import { labChildEnv, leftovers, removeLabChildFootprint, startLabChild } from './support/lab-child';
import { openShell } from './support/shell';
import { startTestLab, type TestLab, sandboxById } from './support/test-lab';

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const alive = (pid: number) => existsSync(`/proc/${pid}`);
const runcRoot = (env: Record<string, string>) => join(env.ISOLAB_STATE_DIR, 'runc');
const initPidOf = (env: Record<string, string>, sandboxId: string) =>
  (JSON.parse(readFileSync(join(runcRoot(env), sandboxId, 'state.json'), 'utf8')) as { init_process_pid: number }).init_process_pid;

// ---------------------------------------------------------------------------------------------
describe('lab-server killed with -9 mid-session', () => {
  it('after a restart, no container, cgroup, mount, bundle or process of the old sandboxes is left', async () => {
    const env = await labChildEnv();
    cleanups.push(() => removeLabChildFootprint(env));
    const first = await startLabChild(env);
    cleanups.push(() => first.stop());
    const clients = await Promise.all([first.connect(), first.connect()]);
    const shells = await Promise.all(clients.map((client, i) => openShell(client, `crash-${i}`)));
    // Mid-session: work left running in both, including what makes teardown hard (a child cgroup
    // with a process in it, a mount, a network namespace).
    await shells[0].term.exec(
      'd=/sys/fs/cgroup/pids; [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && d=/sys/fs/cgroup; ' +
        '(mkdir -p $d/kid && sh -c "echo \\$\\$ > $d/kid/cgroup.procs; exec sleep 1000" &); sleep 1000 & ' +
        'mkdir -p /tmp/m && mount -t tmpfs x /tmp/m; ip netns add crashed',
    );
    shells[1].term.run('sleep 1000');
    await sleep(300);
    const oldProcesses = shells.flatMap((shell) => processesInPidNamespace(initPidOf(env, shell.sandbox.sandboxId)));
    expect(oldProcesses.length).toBeGreaterThanOrEqual(5);

    first.process.kill('SIGKILL');
    await first.exited();
    for (const client of clients) client.close();
    const afterKill = leftovers(env);
    console.log(`[faults] left by kill -9: ${JSON.stringify(Object.fromEntries(Object.entries(afterKill).map(([k, v]) => [k, v.length])))}`);
    // The crash did leave things behind (or this test would prove nothing).
    expect(afterKill.bundles.length + afterKill.cgroups.length + afterKill.containers.length).toBeGreaterThan(0);
    expect(afterKill.mounts.length).toBeGreaterThan(0); // the read-only views

    const second = await startLabChild(env);
    cleanups.push(() => second.stop());
    expect(second.output()).toMatch(/removed leftovers of an earlier run/);
    const afterRestart = leftovers(env);
    expect(afterRestart).toMatchObject({ containers: [], cgroups: [], bundles: [] });
    // The crashed run's rootfs views (one per host identity it used) are gone too; the new run
    // has only its bundles view until a sandbox needs a rootfs view.
    expect(afterRestart.mounts).toEqual([join(env.ISOLAB_STATE_DIR, 'readonly', 'bundles')]);
    expect(oldProcesses.filter(alive)).toEqual([]);
    // And it serves again.
    const client = await second.connect();
    const shell = await openShell(client, 'after-crash');
    expect(await shell.term.exec('echo serving-again')).toMatch(/^serving-again$/m);
    client.close();

    await second.stop();
    expect(leftovers(env)).toEqual({ containers: [], cgroups: [], mounts: [], bundles: [] });
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------
describe('a browser that vanishes without closing', () => {
  let lab: TestLab;
  const reasons = new Map<string, string>();

  /** Starts a stand-in browser process that opens a sandbox and keeps its connection. */
  async function browser(key: string): Promise<{ child: ChildProcess; sandboxId: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab-server/test/support/vanishing-browser.ts', lab.url, key], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    const sandboxId = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /"sandboxId":"(sbx-[a-z0-9]+)"/.exec(text);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`the browser exited with ${code}`)));
    });
    return { child, sandboxId };
  }

  async function reaped(sandboxId: string, withinMs: number): Promise<number> {
    const started = Date.now();
    while (sandboxById(lab.server, sandboxId)) {
      if (Date.now() - started > withinMs) throw new Error(`${sandboxId} was not reaped within ${withinMs} ms`);
      await sleep(100);
    }
    return Date.now() - started;
  }

  it('its sandbox is reaped after the grace period when the tab is killed (the OS closes the socket)', async () => {
    lab = await startTestLab({ ISOLAB_GRACE_SECONDS: '2' });
    cleanups.push(() => lab.close());
    lab.server.lab.onSandboxClosed((sandbox, reason) => reasons.set(sandbox.id, reason));
    const { child, sandboxId } = await browser('killed-tab');
    const sandbox = sandboxById(lab.server, sandboxId)!;
    const dirs = sandbox.cgroup.dirs;
    await sleep(3000); // longer than the grace period: an attached viewer keeps it alive
    expect(sandboxById(lab.server, sandboxId)).toBeDefined();
    child.kill('SIGKILL');
    const ms = await reaped(sandboxId, 15_000);
    console.log(`[faults] killed tab: sandbox reaped ${ms} ms after the kill (grace 2 s)`);
    expect(reasons.get(sandboxId)).toBe('abandoned');
    expect(await lab.server.runtime.list()).not.toContain(sandboxId);
    expect(dirs.filter(existsSync)).toEqual([]);
  }, 30_000);

  // SIGSTOP: the process holds its socket open but answers nothing, as when a laptop's network
  // drops. Only socket.io's heartbeat (10 s interval + 10 s timeout) can notice.
  it('its sandbox is reaped after heartbeat timeout plus grace when the tab just stops answering', async () => {
    const { child, sandboxId } = await browser('frozen-tab');
    child.kill('SIGSTOP');
    const ms = await reaped(sandboxId, 40_000);
    console.log(`[faults] frozen tab: sandbox reaped ${ms} ms after it stopped answering (heartbeat ≤ 20 s + grace 2 s)`);
    expect(reasons.get(sandboxId)).toBe('abandoned');
    expect(await lab.server.runtime.list()).not.toContain(sandboxId);
    child.kill('SIGKILL');
  }, 50_000);
});

// ---------------------------------------------------------------------------------------------
describe('runc missing or failing', () => {
  it('preflight refuses to start without runc, in a sentence that says what to do', async () => {
    const env = await labChildEnv({ ISOLAB_RUNC: '/nonexistent/runc' });
    cleanups.push(() => removeLabChildFootprint(env));
    const child = await startLabChild(env, { waitReady: false });
    expect(await child.exited()).toBe(1);
    expect(child.output()).toMatch(/runc was not found \(ISOLAB_RUNC="\/nonexistent\/runc"\)\. Install it with "apt-get install -y runc", or set ISOLAB_RUNC to its full path\./);
    expect(child.output()).toContain('[RUNC_MISSING]');
  });

  it('runc removed after startup: the learner gets SPAWN_FAILED in plain words, the operator the reason', async () => {
    const dir = join(tmpdir(), uniqueName('isolab-runc'));
    mkdirSync(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(execFileSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).trim(), join(dir, 'runc'));
    chmodSync(join(dir, 'runc'), 0o755);
    const env = await labChildEnv({ ISOLAB_RUNC: join(dir, 'runc') });
    cleanups.push(() => removeLabChildFootprint(env));
    const lab = await startLabChild(env);
    cleanups.push(() => lab.stop());
    rmSync(join(dir, 'runc'));
    const client = await lab.connect();
    const error = await client.request('sandbox:open', { key: 'no-runc' }).catch((e: LabRequestError) => e);
    client.close();
    expect(error).toBeInstanceOf(LabRequestError);
    expect(error).toMatchObject({ code: 'SPAWN_FAILED', message: 'The sandbox could not be started. The lab server log has the details.' });
    expect(lab.output()).toMatch(/"code":"SPAWN_FAILED".*No such file or directory/);
    await lab.stop();
    expect(leftovers(env)).toEqual({ containers: [], cgroups: [], mounts: [], bundles: [] });
  });

  it('runc failing at spawn: the learner gets SPAWN_FAILED, the operator runc’s own words, nothing is left behind', async () => {
    const dir = join(tmpdir(), uniqueName('isolab-runc'));
    mkdirSync(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const wrapper = join(dir, 'runc');
    // Answers --version and everything else like runc, but fails `runc --root X run ...`.
    writeFileSync(wrapper, '#!/bin/sh\nif [ "$3" = run ]; then echo "simulated failure: could not create the container" >&2; exit 1; fi\nexec runc "$@"\n');
    chmodSync(wrapper, 0o755);
    const env = await labChildEnv({ ISOLAB_RUNC: wrapper });
    cleanups.push(() => removeLabChildFootprint(env));
    const lab = await startLabChild(env);
    cleanups.push(() => lab.stop());
    const client = await lab.connect();
    const error = await client.request('sandbox:open', { key: 'failing-runc' }).catch((e: LabRequestError) => e);
    expect(error).toMatchObject({ code: 'SPAWN_FAILED', message: 'The sandbox could not be started. The lab server log has the details.' });
    expect(lab.output()).toMatch(/"code":"SPAWN_FAILED".*simulated failure: could not create the container/);
    expect(leftovers(env)).toMatchObject({ containers: [], cgroups: [], bundles: [] });
    // The server itself is fine.
    expect((await fetch(`${lab.url}/healthz`)).status).toBe(200);
    client.close();
  });
});

// ---------------------------------------------------------------------------------------------
describe('the disk full in the state directory', () => {
  it('a new sandbox is refused with DISK_FULL in plain words, and works again once there is room', async () => {
    const env = await labChildEnv();
    const stateDir = env.ISOLAB_STATE_DIR;
    mkdirSync(stateDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'isolab-fault', stateDir]);
    cleanups.push(() => {
      try {
        execFileSync('umount', [stateDir]);
      } catch {
        // Already unmounted.
      }
      removeLabChildFootprint(env);
    });
    const lab = await startLabChild(env);
    cleanups.push(() => lab.stop());
    const filler = join(stateDir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const client = await lab.connect();
    const error = await client.request('sandbox:open', { key: 'full-disk' }).catch((e: LabRequestError) => e);
    expect(error).toMatchObject({ code: 'DISK_FULL', message: 'The lab server has run out of disk space, so it cannot start a sandbox right now. Tell the instructor.' });
    expect(lab.output()).toMatch(/"code":"DISK_FULL"/);
    rmSync(filler);
    const shell = await openShell(client, 'room-again');
    expect(await shell.term.exec('echo works-again')).toMatch(/^works-again$/m);
    client.close();
    await lab.stop();
    expect(leftovers(env)).toEqual({ containers: [], cgroups: [], mounts: [], bundles: [] });
  }, 60_000);
});
