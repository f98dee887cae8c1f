/**
 * The sandbox's own limits hold: a fork bomb stops at pids.max, a memory hog is OOM-killed while
 * the shell lives on, and CPU is throttled to the quota. Read from the host side, where the
 * learner cannot tamper with the figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { openShell, type Shell } from './support/shell';
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
    const stat = () => read(cgroupFile(shell, 'cpu.stat'));
    const usageFile = existsSync(cgroupFile(shell, 'cpu.stat')) && stat().includes('usage_usec') ? undefined : cgroupFile(shell, 'cpuacct.usage');
    const usageSeconds = () => (usageFile ? Number(read(usageFile)) / 1e9 : counter(stat(), 'usage_usec') / 1e6);
    const throttledBefore = counter(stat(), 'nr_throttled');
    const usageBefore = usageSeconds();
    const startedAt = performance.now();
    await shell.term.exec("timeout 2 sh -c 'while :; do :; done' & timeout 2 sh -c 'while :; do :; done'; wait", 30_000);
    const used = usageSeconds() - usageBefore;
    const elapsed = (performance.now() - startedAt) / 1000;
    expect(counter(stat(), 'nr_throttled')).toBeGreaterThan(throttledBefore);
    // CPU time per second of wall time: unthrottled, two loops on two cores would use about 2.
    // (A rate, because starting the loops takes longer than their 2 s on a slow host.)
    expect(used / elapsed).toBeLessThan(lab.config.cpuLimit * 1.5);
  });
});
