/**
 * Processes start off lab-server's event loop (runtime/spawner.ts, runtime/host-pty.ts): one
 * learner's sandbox starting never holds up another learner's terminal, and the ptys lab-server
 * keeps for terminals all go away when the terminals end.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, open, openSync, readdirSync, readFileSync, readlinkSync, rmSync, stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { startSpawner } from '../src/runtime/spawner';
import type { Shell } from './support/shell';
import { bound } from './support/slowdown';
import { TerminalDriver } from './support/terminal-driver';
import { useTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;
let client: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'spawner' }, (context) => ({ lab, client, shell } = context));

/** The fds of a process that are ptys (masters or slaves), from fd 3 on (0-2 may be the operator's terminal). */
function ptyFds(pid: number): number {
  let count = 0;
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(name) < 3) continue;
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${name}`);
      if (target === '/dev/ptmx' || target.startsWith('/dev/pts/')) count++;
    } catch {
      // Closed meanwhile.
    }
  }
  return count;
}

/** The command lines of a process's children. */
function childrenOf(pid: number): string[] {
  const commands: string[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) commands.push(readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // Ended meanwhile.
    }
  }
  return commands;
}

const stateOf = (pid: number) => /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];

describe('starting processes', () => {
  const stopped: number[] = [];
  afterAll(() => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  });

  it('leaves no pty open in lab-server or its spawner once terminals end, and reports their exit codes', async () => {
    const before = ptyFds(process.pid);
    const terminals = await Promise.all([1, 2, 3].map(() => TerminalDriver.open(client, shell.sandbox.sandboxId)));
    await Promise.all(terminals.map((terminal) => terminal.waitFor(/# $/)));
    await vi.waitFor(() => expect(ptyFds(process.pid)).toBe(before + 3), { interval: 20 });
    // Two end by themselves, one is closed by the learner.
    terminals[0].run('exit 5');
    terminals[1].run('kill -KILL $$');
    expect(await terminals[0].waitForExit()).toEqual({ exitCode: 5 });
    // runc exec exits 128 + the signal that ended the process.
    expect(await terminals[1].waitForExit()).toEqual({ exitCode: 137 });
    for (const terminal of terminals.slice(2)) await client.request('terminal:close', { terminalId: terminal.terminalId });
    await vi.waitFor(() => expect(ptyFds(process.pid)).toBe(before), { timeout: bound(15_000), interval: 100 });
    expect(ptyFds(startSpawner()!)).toBe(0);
    for (const terminal of terminals) terminal.dispose();
  });

  it("answers a learner's keystrokes while another learner's sandbox is still starting", async () => {
    const spawner = startSpawner()!;
    // runc runs for the sandbox as the spawner's child: lab-server never forked for it.
    expect(childrenOf(spawner).some((command) => command.includes(' run ') && command.includes(shell.sandbox.sandboxId))).toBe(true);
    expect(childrenOf(process.pid).some((command) => command.includes(' --root '))).toBe(false);

    // Hold every process start where it is: the other learner's sandbox cannot start meanwhile.
    process.kill(spawner, 'SIGSTOP');
    stopped.push(spawner);
    await vi.waitFor(() => expect(stateOf(spawner)).toBe('T'), { interval: 5 });
    const events: string[] = [];
    const other = await lab.connect();
    const sizeBefore = lab.server.lab.size;
    const opening = other.request('sandbox:open', { key: 'spawner-other' }).then((sandbox) => {
      events.push('the other sandbox opened');
      return sandbox;
    });
    await vi.waitFor(() => expect(lab.server.lab.size).toBe(sizeBefore + 1), { interval: 20 });

    expect(await shell.term.exec('echo answer-$((6*7))')).toContain('answer-42');
    events.push('the keystrokes were answered');
    process.kill(spawner, 'SIGCONT');
    stopped.pop();

    const sandbox = await opening;
    const term = await TerminalDriver.open(other, sandbox.sandboxId, { terminalId: sandbox.terminals[0].terminalId });
    await term.waitFor(`root@${sandbox.hostname}:~# `);
    expect(events).toEqual(['the keystrokes were answered', 'the other sandbox opened']);
    term.dispose();
  });

  it("answers a learner's keystrokes while every thread of libuv's pool is busy with file work", async () => {
    // lab-server's file work (cgroup reads, observe scans, bundles) runs on libuv's thread pool.
    // Keystrokes used to be written to the pty there too, so they queued behind it. Here every
    // thread is held in open() of a FIFO nobody writes to until the echo has come back.
    const dir = mkdtempSync(join(tmpdir(), 'isolab-pool-'));
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const fifos = Array.from({ length: threads }, (_, i) => join(dir, `fifo-${i}`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    const held = fifos.map((fifo) => new Promise<number>((resolve, reject) => open(fifo, 'r', (error, fd) => (error ? reject(error) : resolve(fd)))));
    const events: string[] = [];
    // A probe on the pool: it runs only once a thread is free again.
    const probe = new Promise<void>((resolve) => stat(dir, () => resolve())).then(() => events.push('the pool was free'));
    try {
      expect(await shell.term.exec('echo pool-$((6*7))')).toContain('pool-42');
      events.push('the keystrokes were answered');
    } finally {
      for (const fifo of fifos) closeSync(openSync(fifo, 'w')); // each held open() returns
      for (const fd of await Promise.all(held)) closeSync(fd);
      await probe;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(events).toEqual(['the keystrokes were answered', 'the pool was free']);
  });
});
