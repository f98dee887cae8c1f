/**
 * A sandbox is isolated from the host and from other sandboxes: its own namespaces, PID 1, an
 * unprivileged uid map and its own hostname.
 */
import { readlinkSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { checkOutput, openShell, type Shell } from './support/shell';
import { useTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;
let client: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'isolation' }, (context) => ({ lab, client, shell } = context));

const NAMESPACES = ['pid', 'mnt', 'net', 'ipc', 'uts', 'user', 'cgroup'] as const;

describe('a sandbox', () => {
  it.each(NAMESPACES)('has its own %s namespace, not the host one', async (kind) => {
    const inside = (await checkOutput(client, shell.sandbox.sandboxId, `readlink /proc/1/ns/${kind}`)).trim();
    const host = readlinkSync(`/proc/self/ns/${kind}`);
    expect(inside).toMatch(new RegExp(`^${kind}:\\[\\d+\\]$`));
    expect(inside).not.toBe(host);
  });

  it('runs its shell as PID 1 of its own PID namespace', async () => {
    const out = await shell.term.exec('ps -o pid=,comm= -p 1; echo "shell=$$"');
    expect(out).toMatch(/^\s*1 bash$/m);
    expect(out).toMatch(/^shell=1$/m);
    // Only the sandbox's own processes are visible: no host daemons, not lab-server.
    const all = await checkOutput(client, shell.sandbox.sandboxId, 'ps -e -o comm=');
    expect(all).not.toMatch(/node|runc|systemd|sshd/);
  });

  it('maps root to an unprivileged host range, never to host root', async () => {
    const uidMap = (await checkOutput(client, shell.sandbox.sandboxId, 'cat /proc/self/uid_map')).trim().split(/\s+/).map(Number);
    const hostUid = sandboxById(lab.server, shell.sandbox.sandboxId)!.hostUid!;
    expect(uidMap).toEqual([0, hostUid, 65536]);
    // A range of its own above the one the rootfs is shifted to (see sandbox/identity.ts).
    expect(hostUid).toBeGreaterThan(lab.config.uidBase);
    // Seen from the host, the shell runs as the mapped uid.
    const hostPid = sandboxById(lab.server, shell.sandbox.sandboxId)!.initPid()!;
    const uidLine = readFileSync(`/proc/${hostPid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1];
    expect(Number(uidLine)).toBe(hostUid);
  });

  it('has its own hostname, and changing it leaves the host alone', async () => {
    const before = hostname();
    expect((await shell.term.exec('hostname')).split('\n')[0]).toBe(shell.sandbox.hostname);
    const out = await shell.term.exec('hostname renamed-inside && hostname');
    expect(out).toContain('renamed-inside');
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(before);
    await shell.term.exec(`hostname ${shell.sandbox.hostname}`);
  });

  it('sees only loopback on the network', async () => {
    const links = await checkOutput(client, shell.sandbox.sandboxId, 'ip -o link show | cut -d: -f2');
    expect(links.trim().split('\n').map((l) => l.trim())).toEqual(['lo']);
    const ping = await client.request('check:run', { sandboxId: shell.sandbox.sandboxId, command: 'ping -c1 -W1 1.1.1.1' });
    expect(ping.exitCode).not.toBe(0);
    expect(ping.stderr + ping.stdout).toMatch(/unreachable/i);
  });
});

describe('two sandboxes', () => {
  it('cannot see each other’s processes, files, IPC or network', async () => {
    const other = await lab.connect();
    const neighbour = await openShell(other, 'neighbour');
    const a = shell.sandbox.sandboxId;
    const b = neighbour.sandbox.sandboxId;
    // The neighbour leaves a process, a file, a SysV queue, a shm file and a listening socket.
    await neighbour.term.exec('sleep 4242 & echo secret > /tmp/neighbour-file; echo x > /dev/shm/neighbour-shm; ipcmk -Q >/dev/null; (nc -l 127.0.0.1 7777 >/dev/null &)');
    await neighbour.term.waitFor(/# $/);

    expect(await checkOutput(client, a, 'ps -e -o args=')).not.toContain('sleep 4242');
    expect((await client.request('check:run', { sandboxId: a, command: 'cat /tmp/neighbour-file' })).exitCode).not.toBe(0);
    expect((await client.request('check:run', { sandboxId: a, command: 'cat /dev/shm/neighbour-shm' })).exitCode).not.toBe(0);
    expect(await checkOutput(client, a, 'ipcs -q | grep -c 0x || true')).toMatch(/^0/);
    expect(await checkOutput(other, b, 'ipcs -q | grep -c 0x || true')).toMatch(/^1/);
    expect((await client.request('check:run', { sandboxId: a, command: 'nc -z -w1 127.0.0.1 7777' })).exitCode).not.toBe(0);
    // The listener is really there in b, so the refusal in a is isolation, not a dead listener.
    expect((await other.request('check:run', { sandboxId: b, command: 'ss -ltn | grep -c :7777' })).stdout.trim()).toBe('1');

    // Namespaces differ pairwise. One check per sandbox for all kinds: a session may run 20 checks
    // in a burst (exec-gate.ts), and this file's session has used most of them when the lab is fast.
    const namespaces = async (c: LabClient, sandboxId: string) =>
      (await checkOutput(c, sandboxId, `for kind in ${NAMESPACES.join(' ')}; do readlink /proc/1/ns/$kind; done`)).trim().split('\n');
    const [inA, inB] = [await namespaces(client, a), await namespaces(other, b)];
    NAMESPACES.forEach((kind, i) => {
      expect(inA[i], kind).toMatch(new RegExp(`^${kind}:\\[\\d+\\]$`));
      expect(inA[i], kind).not.toBe(inB[i]);
    });
  });
});
