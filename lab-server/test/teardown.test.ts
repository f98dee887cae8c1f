/**
 * Teardown leaves nothing behind: no container, process, cgroup, mount or bundle. And a restart
 * after a crash removes whatever the crashed server left.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { silentLogger } from '../src/log';
import { preflight } from '../src/preflight';
import { removeLabFootprint } from '../src/sandbox/recovery';
import { startLabServer } from '../src/server';
import { uniqueName } from './support/attack';
import { openShell } from './support/shell';
import { bound } from './support/slowdown';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, testEnv, testLabName, type TestLab, sandboxById } from './support/test-lab';

const labs: TestLab[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const processAlive = (pid: number) => existsSync(`/proc/${pid}`);
const mountsMention = (text: string) => readFileSync('/proc/self/mountinfo', 'utf8').includes(text);

describe('closing a sandbox', () => {
  it('kills every process and removes the container, its cgroups, mounts and bundle', async () => {
    const lab = await startTestLab();
    labs.push(lab);
    const client = await lab.connect();
    const { sandbox, term } = await openShell(client, 'teardown');
    // Leave work behind: background processes, a child cgroup with a process in it, a mount, a netns.
    await term.exec(
      'd=/sys/fs/cgroup/pids; [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && d=/sys/fs/cgroup; ' +
        'sleep 1000 & (mkdir -p $d/kid && sh -c "echo \\$\\$ > $d/kid/cgroup.procs; exec sleep 1000" &) ; ' +
        'mkdir -p /tmp/m && mount -t tmpfs x /tmp/m; ip netns add leftover',
    );
    const live = sandboxById(lab.server, sandbox.sandboxId)!;
    const initPid = live.initPid()!;
    const cgroupDirs = live.cgroup.dirs;
    const bundle = join(lab.config.stateDir, 'bundles', sandbox.sandboxId);
    expect(processAlive(initPid)).toBe(true);
    expect(cgroupDirs.every(existsSync)).toBe(true);
    expect(existsSync(bundle)).toBe(true);

    await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });

    expect(processAlive(initPid)).toBe(false);
    expect(await lab.server.runtime.list()).not.toContain(sandbox.sandboxId);
    expect(cgroupDirs.filter(existsSync)).toEqual([]);
    expect(existsSync(bundle)).toBe(false);
    expect(mountsMention(sandbox.sandboxId)).toBe(false);
    expect(existsSync(join(lab.config.stateDir, 'runc', sandbox.sandboxId))).toBe(false);
  });
});

/** Host pids of the `runc exec` processes running terminals of this sandbox. */
function runcExecPids(sandboxId: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args.includes('exec') && args.includes('--tty') && args.includes(sandboxId);
      } catch {
        return false; // it ended while we looked
      }
    })
    .map(Number);
}

describe('closing a sandbox whose runc exec does not reap its shell', () => {
  it('still removes the container and its processes', async () => {
    const lab = await startTestLab();
    labs.push(lab);
    const client = await lab.connect();
    const { sandbox } = await openShell(client, 'stuck-exec');
    const second = await TerminalDriver.open(client, sandbox.sandboxId);
    await second.waitFor(`root@${sandbox.hostname}:~# `);
    const live = sandboxById(lab.server, sandbox.sandboxId)!;
    const initPid = live.initPid()!;
    // A runc exec that is stopped cannot reap its shell once the container's processes are
    // killed, as one caught mid-start did not: the shell stays a zombie in the container's PID
    // namespace, and the container's init cannot finish dying while it is there.
    const stuck = runcExecPids(sandbox.sandboxId);
    expect(stuck).toHaveLength(1);
    process.kill(stuck[0], 'SIGSTOP');
    try {
      await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });
      expect(await lab.server.runtime.list()).not.toContain(sandbox.sandboxId);
      expect(processAlive(initPid)).toBe(false);
      expect(processAlive(stuck[0])).toBe(false);
    } finally {
      if (processAlive(stuck[0])) process.kill(stuck[0], 'SIGKILL');
    }
  });
});

describe('closing sandboxes whose `runc kill` hangs', () => {
  it('still starts sandboxes for others, and removes the hung ones and their processes', async () => {
    // runc's `kill --all` freezes the container's cgroup before it signals. This runc does that
    // and then hangs, for the containers named in `hang/`, as one whose freezer never settles
    // would: the container's processes stay, frozen, and the kill never ends.
    const dir = join(tmpdir(), uniqueName('isolab-hung-runc'));
    dirs.push(dir);
    mkdirSync(join(dir, 'hang'), { recursive: true });
    const wrapper = join(dir, 'runc');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$3" = kill ] && [ -f "${dir}/hang/$5" ]; then read -r file value < "${dir}/hang/$5"; echo "$value" > "$file"; exec sleep 3600; fi\nexec runc "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const lab = await startTestLab({ ISOLAB_RUNC: wrapper });
    labs.push(lab);
    // Enough hung teardowns to hold every spawn slot, each in a learner's sandbox with work running.
    const hung = await Promise.all(
      Array.from({ length: lab.server.lab.spawnSlots }, async (_, i) => {
        const client = await lab.connect();
        const { sandbox, term } = await openShell(client, `hung-${i}`);
        await term.exec('sleep 1000 & echo started');
        const live = sandboxById(lab.server, sandbox.sandboxId)!;
        const freezer = live.cgroup.dirs.find((d) => existsSync(join(d, 'freezer.state')));
        const control = freezer ? `${join(freezer, 'freezer.state')} FROZEN` : `${join(live.cgroup.dirs[0], 'cgroup.freeze')} 1`;
        writeFileSync(join(dir, 'hang', sandbox.sandboxId), `${control}\n`);
        return { client, sandbox, cgroupDirs: live.cgroup.dirs, pids: lab.server.runtime.pidsIn(live.cgroup.dirs) };
      }),
    );
    expect(hung.every((h) => h.pids.length >= 2)).toBe(true);

    const closing = hung.map((h) => h.client.request('sandbox:close', { sandboxId: h.sandbox.sandboxId }));
    const other = await lab.connect();
    const { term } = await openShell(other, 'not-hung');
    expect(await term.exec('echo still-starting')).toMatch(/^still-starting$/m);

    await Promise.all(closing);
    const containers = await lab.server.runtime.list();
    for (const h of hung) {
      expect(containers).not.toContain(h.sandbox.sandboxId);
      expect(h.pids.filter(processAlive)).toEqual([]);
      expect(h.cgroupDirs.filter(existsSync)).toEqual([]);
    }
    const health = (await (await fetch(`${lab.url}/healthz`)).json()) as { leftovers: unknown; sandboxes: number };
    expect(health).toMatchObject({ sandboxes: 1, leftovers: { sandboxes: 0, cgroups: 0, processes: 0 } });
  });
});

describe('restarting after a crash', () => {
  it('removes the containers, cgroups and bundles the crashed server left', async () => {
    const name = testLabName();
    const config = loadConfig(testEnv(name));
    const { facts } = preflight(config);
    const deps = { config, logger: silentLogger, cgroupHost: facts.cgroupHost!, swapAccounting: facts.swapAccounting, runcVersion: '' };
    const crashed = await startLabServer(deps);
    const { LabClient } = await import('../../lib/lab-client');
    const client = await LabClient.connect(crashed.url, { origin: 'http://localhost:3000', timeoutMs: bound(10_000), requestTimeoutMs: bound(30_000) });
    const { sandbox } = await openShell(client, 'crash');
    const initPid = sandboxById(crashed, sandbox.sandboxId)!.initPid()!;
    const cgroupDirs = sandboxById(crashed, sandbox.sandboxId)!.cgroup.dirs;
    // A crash: the server stops answering without closing anything.
    client.close();
    crashed.http.closeAllConnections();
    crashed.http.close();

    const restarted = await startLabServer(deps);
    const parentDirs = cgroupDirs.map(dirname);
    try {
      // runc delete removes the container's cgroups; the sweep after it finds none left over.
      expect(restarted.recovery).toMatchObject({ containers: 1, bundles: 1, stuck: [] });
      expect(processAlive(initPid)).toBe(false);
      expect(cgroupDirs.filter(existsSync)).toEqual([]);
      expect(await restarted.runtime.list()).toEqual([]);
    } finally {
      await restarted.close();
      // This lab is not a TestLab: remove its cgroup parent and state directory as one would.
      await removeLabFootprint({ stateDir: config.stateDir, cgroupParent: config.cgroupParent, runcPath: facts.runcPath ?? 'runc', cgroupHost: facts.cgroupHost! });
    }
    expect(parentDirs.filter(existsSync)).toEqual([]);
    expect(existsSync(config.stateDir)).toBe(false);
  });
});
