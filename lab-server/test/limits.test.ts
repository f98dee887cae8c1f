/**
 * The sandbox's own limits hold: a fork bomb stops at pids.max, a memory hog is OOM-killed while
 * the shell lives on, and CPU is throttled to the quota. Read from the host side, where the
 * learner cannot tamper with the figures.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { SHELL_SLICE_NS } from '../src/runtime/ns-helper';
import { openShell, type Shell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { bound, boundSeconds } from './support/slowdown';
import { useTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;
let client: LabClient;
useTestLab({}, (context) => ({ lab, client } = context));

/** The host-side directory of a sandbox's cgroup that holds `file` (v1: one per controller). */
function cgroupFile(shell: Shell, file: string): string {
  const dirs = sandboxById(lab.server, shell.sandbox.sandboxId)!.cgroup.dirs;
  const dir = dirs.find((d) => existsSync(join(d, file)));
  if (!dir) throw new Error(`no cgroup directory of ${shell.sandbox.sandboxId} has ${file}`);
  return join(dir, file);
}
const read = (path: string) => readFileSync(path, 'utf8');
const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

/** The host pid of a sandbox's process, from its pid inside (the last entry of NSpid). */
function hostPid(sandboxId: string, innerPid: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1].trim().split(/\s+/);
      if (nspid && nspid.length > 1 && Number(nspid.at(-1)) === innerPid && readFileSync(`/proc/${entry}/cgroup`, 'utf8').includes(sandboxId)) return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error(`no process ${innerPid} of ${sandboxId} on the host`);
}
/** The scheduler slice of a host process, in ns (/proc/PID/sched, on kernels that print it). */
const sliceOf = (pid: number) => Number(/^se\.slice\s+:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'))?.[1] ?? NaN);
/** EEVDF's per-task slices (sched_setattr's sched_runtime for SCHED_OTHER) came in Linux 6.12. */
const [major, minor] = release().split('.').map(Number);
const customSlices = major > 6 || (major === 6 && minor >= 12);

/** CPU seconds the sandbox used, per second of wall time, while `run` ran. */
async function cpuRate(shell: Shell, run: () => Promise<unknown>): Promise<{ rate: number; throttled: number }> {
  const stat = () => read(cgroupFile(shell, 'cpu.stat'));
  const usageFile = existsSync(cgroupFile(shell, 'cpu.stat')) && stat().includes('usage_usec') ? undefined : cgroupFile(shell, 'cpuacct.usage');
  const usageSeconds = () => (usageFile ? Number(read(usageFile)) / 1e9 : counter(stat(), 'usage_usec') / 1e6);
  const throttledBefore = counter(stat(), 'nr_throttled');
  const usageBefore = usageSeconds();
  const startedAt = performance.now();
  await run();
  return { rate: (usageSeconds() - usageBefore) / ((performance.now() - startedAt) / 1000), throttled: counter(stat(), 'nr_throttled') - throttledBefore };
}

describe('sandbox limits', () => {
  it('stops a fork bomb at pids.max, and the shell can clean up after it', async () => {
    const shell = await openShell(client, 'forkbomb');
    // Started without a tty so that the bomb does not tie up the learner's terminal.
    await client.request('check:run', { sandboxId: shell.sandbox.sandboxId, command: "setsid bash -c ':(){ :|:& };:' >/dev/null 2>&1 &", timeoutMs: bound(3000) });
    const max = Number(read(cgroupFile(shell, 'pids.max')));
    // The meter's count of refused forks: where the kernel counts them depends on the kernel
    // (on v2 before 6.13, in the forking process's own cgroup, init.scope here), and the meter
    // sums the subtree where it must.
    let refused = 0;
    for (const deadline = Date.now() + bound(40_000); Date.now() < deadline && refused === 0; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      refused = (await lab.cgroupStats(shell.sandbox.sandboxId)).pids.forksRefused;
    }
    expect(max).toBe(lab.config.pidsLimit);
    expect(refused).toBeGreaterThan(0);
    expect(Number(read(cgroupFile(shell, 'pids.current')))).toBeLessThanOrEqual(max);
    // `kill` is a builtin, so it works even while every pid is taken; PID 1 (the shell) survives.
    shell.term.run('kill -9 -1');
    const out = await shell.term.exec('sleep 0.5; ps -e --no-headers | wc -l', 30_000);
    expect(Number(out.split('\n')[0])).toBeLessThan(5);
  });

  it('OOM-kills a memory hog and keeps the shell alive', async () => {
    const shell = await openShell(client, 'memhog');
    const out = await shell.term.exec(`stress-ng --vm 1 --vm-bytes 400M --vm-keep --oomable -t ${boundSeconds(10)} -q; echo hog-exit=$?`, 60_000);
    expect(out).toMatch(/hog-exit=/);
    // v2 counts OOM kills in memory.events, v1 in memory.oom_control.
    const dirs = sandboxById(lab.server, shell.sandbox.sandboxId)!.cgroup.dirs;
    const eventsFile = dirs.map((d) => join(d, 'memory.events')).find(existsSync) ?? cgroupFile(shell, 'memory.oom_control');
    const oomKills = counter(read(eventsFile), 'oom_kill');
    expect(oomKills).toBeGreaterThanOrEqual(1);
    expect(await shell.term.exec('echo still-here')).toMatch(/^still-here$/m);
  });

  it('throttles CPU to the quota: two busy loops get about half a CPU between them', async () => {
    const shell = await openShell(client, 'cpuburn');
    // The quota is cpuLimit × a short period (v1: two files; v2: cpu.max "quota period").
    const dirs = sandboxById(lab.server, shell.sandbox.sandboxId)!.cgroup.dirs;
    const cpuMax = dirs.map((d) => join(d, 'cpu.max')).find(existsSync);
    const [quota, period] = cpuMax ? read(cpuMax).trim().split(' ').map(Number) : [Number(read(cgroupFile(shell, 'cpu.cfs_quota_us'))), Number(read(cgroupFile(shell, 'cpu.cfs_period_us')))];
    expect(period).toBe(lab.config.cpuPeriodMs * 1000);
    expect(quota / period).toBe(lab.config.cpuLimit);
    const { rate, throttled } = await cpuRate(shell, () => shell.term.exec("timeout 2 sh -c 'while :; do :; done' & timeout 2 sh -c 'while :; do :; done'; wait", 30_000));
    expect(throttled).toBeGreaterThan(0);
    // CPU time per second of wall time: unthrottled, two loops on two cores would use about 2.
    // (A rate, because starting the loops takes longer than their 2 s on a slow host.)
    expect(rate).toBeLessThan(lab.config.cpuLimit * 1.5);
  });

  it.skipIf(!customSlices)("gives a terminal's shell a short scheduler slice, and not what the shell runs", async () => {
    const learner = await lab.connect(); // a learner of their own: one may have 3 sandboxes
    const shell = await openShell(learner, 'slice');
    const second = await TerminalDriver.open(learner, shell.sandbox.sandboxId); // runc exec, not the init shell
    await second.waitFor(/# $/);
    const { sandboxId } = shell.sandbox;
    const pids = await shell.term.exec('echo shell=$$; sleep 300 & echo child=$!');
    const pid = (text: string, name: string) => hostPid(sandboxId, Number(new RegExp(`^${name}=(\\d+)`, 'm').exec(text)?.[1]));
    const shells = [pid(pids, 'shell'), pid(await second.exec('echo shell=$$'), 'shell')];
    // lab-server asks once the shell has printed something; wait for it to take.
    for (const deadline = Date.now() + bound(5000); Date.now() < deadline && !shells.every((pid) => sliceOf(pid) === SHELL_SLICE_NS); ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(shells.map(sliceOf)).toEqual([SHELL_SLICE_NS, SHELL_SLICE_NS]);
    // SCHED_FLAG_RESET_ON_FORK: a command the learner starts has the kernel's default again.
    expect(sliceOf(pid(pids, 'child'))).toBeGreaterThan(SHELL_SLICE_NS);
    await shell.term.exec('kill %1; wait');
  });

  it('holds the quota for a short slice: the shell spinning itself, or hogs that ask for the slice themselves', async () => {
    const shell = await openShell(await lab.connect(), 'slicehog');
    // The loop is bash's own (no child), so it runs with the shell's short slice.
    const spinning = await cpuRate(shell, () => shell.term.exec('end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do :; done; echo spun', 30_000));
    expect(spinning.throttled).toBeGreaterThan(0);
    expect(spinning.rate).toBeLessThan(lab.config.cpuLimit * 1.5);
    // Any process may ask for the shortest slice (sched_setattr, SCHED_OTHER, sched_runtime; the
    // call sets the nice value too, so it passes its own): two busy loops that do still share the
    // same quota. (Kernels before 6.12 accept the call and ignore the slice.)
    const sys = arch() === 'arm64' ? 274 : 314;
    const hog = `perl -e 'syscall(${sys}, 0, pack("L L Q l L Q Q Q", 48, 0, 0, getpriority(0, 0), 0, 100000, 0, 0), 0) == 0 or die "sched_setattr: $!"; print "slice-granted\\n"; my $t = time + 2; while (time < $t) {}'`;
    let out = '';
    const asking = await cpuRate(shell, async () => (out = await shell.term.exec(`${hog} & ${hog}; wait`, 30_000)));
    expect(out.match(/^slice-granted$/gm)).toHaveLength(2);
    expect(asking.throttled).toBeGreaterThan(0);
    expect(asking.rate).toBeLessThan(lab.config.cpuLimit * 1.5);
  });
});
