/**
 * Reads a sandbox's cgroup on cgroup v2: one directory holds every controller's files.
 *
 * memory.events is hierarchical (it counts OOM kills in the learner's child cgroups too), so the
 * sandbox's own file is enough. pids.events changed meaning over kernel releases:
 * - before 6.13 its `max` counted only in the cgroup of the process whose fork failed, and there
 *   is no pids.events.local; the subtree is summed;
 * - from 6.13 `max` is hierarchical (counted where a limit was hit and above), and later kernels
 *   add `max.imposed`, every fork refused in the subtree, which is exactly what the meter wants.
 */
import { join } from 'node:path';
import type { CgroupStats } from '../../../protocol';
import { readFlatKeyed, readLimit, readNumber, readOptional, sumOverSubtree } from './cgroup-files';

export async function readV2Stats(dir: string): Promise<CgroupStats> {
  const file = (name: string) => join(dir, name);
  const [current, max, peak, memoryEvents, pidsCurrent, pidsMax, pidsEvents, pidsEventsLocal, cpuStat, cpuMax] = await Promise.all([
    readNumber(file('memory.current')),
    readLimit(file('memory.max')),
    readNumber(file('memory.peak')),
    readFlatKeyed(file('memory.events')),
    readNumber(file('pids.current')),
    readLimit(file('pids.max')),
    readFlatKeyed(file('pids.events')),
    readOptional(file('pids.events.local')),
    readFlatKeyed(file('cpu.stat')),
    readOptional(file('cpu.max')),
  ]);
  if (current === undefined) throw new Error(`no v2 memory controller at ${dir}`);

  let forksRefused: number;
  if (pidsEvents.has('max.imposed')) forksRefused = pidsEvents.get('max.imposed')!;
  else if (pidsEventsLocal !== undefined) forksRefused = pidsEvents.get('max') ?? 0;
  else forksRefused = await sumOverSubtree(dir, 'pids.events', 'max');

  // cpu.max: "$MAX $PERIOD", where $MAX is "max" for no quota.
  const [quotaText = 'max', periodText = '100000'] = (cpuMax ?? '').trim().split(/\s+/);
  return {
    version: 'v2',
    memory: {
      currentBytes: current,
      limitBytes: max ?? null,
      peakBytes: peak ?? null,
      oomKills: memoryEvents.get('oom_kill') ?? 0,
      limitHits: memoryEvents.get('max') ?? 0,
    },
    pids: { current: pidsCurrent ?? 0, max: pidsMax ?? null, forksRefused },
    cpu: {
      usageUsec: cpuStat.get('usage_usec') ?? 0,
      throttledPeriods: cpuStat.get('nr_throttled') ?? 0,
      throttledUsec: cpuStat.get('throttled_usec') ?? 0,
      quotaUsec: quotaText === 'max' ? null : Number(quotaText),
      periodUsec: Number(periodText),
    },
  };
}
