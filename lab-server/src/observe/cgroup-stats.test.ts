import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupProcesses, parseFlatKeyed, parseLimit } from './cgroup-files';
import { readV1Stats } from './cgroup-v1-stats';
import { readV2Stats } from './cgroup-v2-stats';

const fixtures = join(import.meta.dirname, 'fixtures');
const v1 = (controller: string) => join(fixtures, 'cgroup-v1', controller);

describe('the cgroup v1 reader', () => {
  it('reads usage, limits and peaks from the sandbox cgroup (real files from this host)', async () => {
    const stats = await readV1Stats({ memory: v1('memory'), pids: v1('pids'), cpu: v1('cpu'), cpuacct: v1('cpuacct') });
    expect(stats.version).toBe('v1');
    expect(stats.memory).toMatchObject({ currentBytes: 73_535_488, limitBytes: 256 * 1024 * 1024, peakBytes: 75_452_416 });
    expect(stats.pids).toMatchObject({ current: 7, max: 256 });
    // cpuacct.usage and throttled_time are in nanoseconds on v1; the meter speaks microseconds.
    expect(stats.cpu).toEqual({ usageUsec: 2_127_462, throttledPeriods: 31, throttledUsec: 1_016_196, quotaUsec: 50_000, periodUsec: 100_000 });
  });

  it('counts the OOM kill and the refused fork that happened in child cgroups the learner made', async () => {
    // The sandbox's own oom_control says 0 and its pids.events says 0: v1 counts these locally.
    const stats = await readV1Stats({ memory: v1('memory'), pids: v1('pids'), cpu: v1('cpu'), cpuacct: v1('cpuacct') });
    expect(stats.memory.oomKills).toBe(1);
    expect(stats.pids.forksRefused).toBe(1);
  });
});

describe('the cgroup v2 reader', () => {
  for (const kernel of ['6.1', '6.18']) {
    describe(`on Linux ${kernel}`, () => {
      const dir = join(fixtures, `cgroup-v2-linux-${kernel}`, 'sbx-m94exydy');

      it('reads usage, limits, peaks and the CPU quota', async () => {
        const stats = await readV2Stats(dir);
        expect(stats.version).toBe('v2');
        expect(stats.memory).toMatchObject({ currentBytes: 73_535_488, limitBytes: 268_435_456, peakBytes: 75_452_416, limitHits: 412 });
        expect(stats.pids).toMatchObject({ current: 7, max: 256 });
        expect(stats.cpu).toEqual({ usageUsec: 2_127_462, throttledPeriods: 31, throttledUsec: 1_016_196, quotaUsec: 50_000, periodUsec: 100_000 });
      });

      it('counts OOM kills in child cgroups once, from the hierarchical memory.events', async () => {
        expect((await readV2Stats(dir)).memory.oomKills).toBe(1);
      });

      it('counts every refused fork in the sandbox exactly once (5 at the sandbox limit, 1 in "few")', async () => {
        expect((await readV2Stats(dir)).pids.forksRefused).toBe(6);
      });
    });
  }
});

describe('cgroup file parsing', () => {
  it('reads "max" as no limit', () => {
    expect(parseLimit('max\n')).toBeNull();
    expect(parseLimit('33554432\n')).toBe(33_554_432);
  });

  it('reads flat-keyed files, including the v1 pids.events of kernels that print "max12"', () => {
    expect(parseFlatKeyed('max 6\nmax.imposed 6\n')).toEqual(new Map([['max', 6], ['max.imposed', 6]]));
    expect(parseFlatKeyed('max12\n').get('max')).toBe(12);
    expect(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n').get('oom_kill')).toBe(3);
  });

  it('lists the processes of a cgroup and its children', async () => {
    const pids = await cgroupProcesses(join(fixtures, 'cgroup-v2-linux-6.18', 'sbx-m94exydy'));
    expect(pids.sort()).toEqual([4589, 4609, 4611, 4612, 4613, 4615, 4616]);
  });
});
