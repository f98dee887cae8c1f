import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostView } from './host-view';
import { buildNamespaceMap } from './namespace-map';
import { parseNamespaceMounts, parseStatus, parseUidMap, uidInside } from './proc';
import { scanSandbox, type SandboxScanInput } from './sandbox-scan';

const procRoot = join(import.meta.dirname, 'fixtures', 'proc');
const cgroupProcs = readFileSync(join(import.meta.dirname, 'fixtures', 'cgroup-v1', 'pids', 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
const LAB_SERVER_PID = 4513;
const input: SandboxScanInput = {
  procRoot,
  pids: cgroupProcs,
  initPid: 4589,
  labServerPid: LAB_SERVER_PID,
  sandboxUids: { start: 1_000_000_000, count: 65_536 },
  cgroupController: 'memory',
};

async function scan(overrides: Partial<SandboxScanInput> = {}) {
  const result = await scanSandbox({ ...input, ...overrides });
  if (!result) throw new Error('scan found no sandbox');
  return result;
}

describe('the host view (fixture /proc copied from a live sandbox)', () => {
  it('lists every process of the sandbox with its pid inside and on the host, as ps inside showed them', async () => {
    const view = buildHostView(await scan());
    // ps inside the sandbox showed: 1 bash, 19 stress-ng, 21-23 sleep, 25-26 stress-ng-vm.
    expect(view.processes.map((p) => [p.pidInside, p.hostPid, p.command])).toEqual([
      [1, 4589, '/bin/bash -l'],
      [19, 4609, 'stress-ng --vm 1 --vm-bytes 64M --vm-keep -t 60'],
      [21, 4611, 'sleep 100'],
      [22, 4612, 'sleep 100'],
      [23, 4613, 'sleep 100'],
      [25, 4615, 'stress-ng-vm [wait]'],
      [26, 4616, 'stress-ng-vm [run]'],
    ]);
    expect(view.processes.every((p) => p.nsPids.length === 2 && p.nsPids[0] === p.hostPid)).toBe(true);
    expect(view.initHostPid).toBe(4589);
  });

  it('shows root inside as a high unprivileged uid on the host, through each process uid_map', async () => {
    const view = buildHostView(await scan());
    expect(view.uidMap).toEqual([{ insideStart: 0, hostStart: 1_000_000_000, count: 65_536 }]);
    for (const process of view.processes) {
      expect(process.hostUid).toBe(1_000_000_000);
      expect(process.uidInside).toBe(0);
    }
  });

  it('names each process cgroup as the host does', async () => {
    const view = buildHostView(await scan());
    expect(new Set(view.processes.map((p) => p.cgroupPath))).toEqual(new Set(['/isolab-test-262347/sbx-m94exydy']));
  });

  it('marks each of the 8 namespace kinds shared with lab-server or the sandbox own', async () => {
    const view = buildHostView(await scan());
    expect(Object.fromEntries(view.namespaces.map((n) => [n.kind, n.relation]))).toEqual({
      cgroup: 'own',
      ipc: 'own',
      mnt: 'own',
      net: 'own',
      pid: 'own',
      // runc 1.1 has no time namespace: the sandbox shares the host's.
      time: 'shared',
      user: 'own',
      uts: 'own',
    });
    const time = view.namespaces.find((n) => n.kind === 'time')!;
    expect(time.sandboxInode).toBe(time.labServerInode);
  });

  it('never lists a host process, even if a pid list handed to it did (lab-server itself here)', async () => {
    const view = buildHostView(await scan({ pids: [...cgroupProcs, LAB_SERVER_PID] }));
    expect(view.processes.map((p) => p.hostPid)).not.toContain(LAB_SERVER_PID);
    expect(view.processes).toHaveLength(7);
  });

  it('lists nothing when the init is not among the pids (the sandbox is gone)', async () => {
    expect(await scanSandbox({ ...input, pids: [4609, 4611] })).toBeUndefined();
  });
});

describe('the namespace map (same fixture)', () => {
  it('puts the process started with `unshare -u` in a UTS namespace of its own', async () => {
    const map = buildNamespaceMap(await scan());
    const uts = map.namespaces.filter((n) => n.kind === 'uts');
    expect(uts).toEqual([
      { kind: 'uts', inode: 4026532179, origin: 'sandbox', processes: [4589, 4609, 4612, 4613, 4615, 4616], mountedAt: [] },
      { kind: 'uts', inode: 4026532396, origin: 'nested', processes: [4611], mountedAt: [] },
    ]);
  });

  it('puts the process started with `unshare -Ur` in a user namespace of its own', async () => {
    const map = buildNamespaceMap(await scan());
    expect(map.namespaces.filter((n) => n.kind === 'user' && n.origin === 'nested')).toMatchObject([{ inode: 4026532397, processes: [4612] }]);
  });

  it('finds the network namespace of `ip netns add blue`, which has no process, by its bind mount', async () => {
    const map = buildNamespaceMap(await scan());
    expect(map.namespaces.filter((n) => n.kind === 'net' && n.origin === 'nested')).toEqual([
      { kind: 'net', inode: 4026532327, origin: 'nested', processes: [], mountedAt: ['/run/netns/blue'] },
    ]);
  });

  it('links processes to parents inside the sandbox only', async () => {
    const map = buildNamespaceMap(await scan());
    const parent = (pid: number) => map.processes.find((p) => p.hostPid === pid)?.parentHostPid;
    expect(parent(4589)).toBeNull(); // the init's parent is runc, on the host
    expect(parent(4609)).toBe(4589);
    expect(parent(4616)).toBe(4615);
  });
});

describe('/proc parsing', () => {
  it('reads NSpid, PPid and the real uid from status', () => {
    expect(parseStatus('Name:\tsleep\nPPid:\t30922\nUid:\t1000000000\t1000000000\t1000000000\t1000000000\nNSpid:\t30924\t12\t1\n')).toEqual({
      parentHostPid: 30922,
      nsPids: [30924, 12, 1],
      hostUid: 1_000_000_000,
    });
  });

  it('maps host uids into a user namespace, and reports unmapped ones as null', () => {
    const map = parseUidMap('         0 1000000000      65536\n');
    expect(uidInside(1_000_000_033, map)).toBe(33);
    expect(uidInside(0, map)).toBeNull();
  });

  it('finds nsfs bind mounts in mountinfo, and nothing else', () => {
    const text = '47 42 0:4 net:[4026532327] /run/netns/blue rw shared:2 - nsfs nsfs rw\n48 42 0:50 / /run rw - tmpfs tmpfs rw\n49 42 0:4 uts:[4026532400] /run/my\\040uts rw - nsfs nsfs rw\n';
    expect(parseNamespaceMounts(text)).toEqual([
      { kind: 'net', inode: 4026532327, mountpoint: '/run/netns/blue' },
      { kind: 'uts', inode: 4026532400, mountpoint: '/run/my uts' },
    ]);
  });
});
