/**
 * Reads a sandbox's cgroup on cgroup v1 (also the v1 side of a hybrid host), where each
 * controller has its own hierarchy and so its own directory.
 *
 * Usage and limits come from the sandbox's own directory, whose figures include its children.
 * Event counters do not: on v1, memory.oom_control's oom_kill and pids.events' max count only in
 * the cgroup where it happened (measured on Linux 6.x), so a hog the learner put in a child cgroup
 * is found by summing over the subtree.
 */
import { join } from 'node:path';
import type { CgroupStats } from '../../../protocol';
import { readFlatKeyed, readLimit, readNumber, sumOverSubtree } from './cgroup-files';

export interface V1StatsDirs {
  memory: string;
  pids: string;
  cpu: string;
  /** Often the same directory as cpu (a combined cpu,cpuacct hierarchy). */
  cpuacct: string;
}

/** v1 writes "no limit" as the largest page-aligned value, not "max". Anything this large is none. */
const V1_UNLIMITED = 2 ** 62;

export async function readV1Stats(dirs: V1StatsDirs): Promise<CgroupStats> {
  const [usage, limit, maxUsage, failcnt, swapFailcnt, oomKills, pidsCurrent, pidsMax, forksRefused, usageNs, cpuStat, quota, period] = await Promise.all([
    readNumber(join(dirs.memory, 'memory.usage_in_bytes')),
    readNumber(join(dirs.memory, 'memory.limit_in_bytes')),
    readNumber(join(dirs.memory, 'memory.max_usage_in_bytes')),
    readNumber(join(dirs.memory, 'memory.failcnt')),
    // With swap accounting the memory+swap limit (equal to the memory limit) is often hit first.
    readNumber(join(dirs.memory, 'memory.memsw.failcnt')),
    sumOverSubtree(dirs.memory, 'memory.oom_control', 'oom_kill'),
    readNumber(join(dirs.pids, 'pids.current')),
    readLimit(join(dirs.pids, 'pids.max')),
    sumOverSubtree(dirs.pids, 'pids.events', 'max'),
    readNumber(join(dirs.cpuacct, 'cpuacct.usage')),
    readFlatKeyed(join(dirs.cpu, 'cpu.stat')),
    readNumber(join(dirs.cpu, 'cpu.cfs_quota_us')),
    readNumber(join(dirs.cpu, 'cpu.cfs_period_us')),
  ]);
  if (usage === undefined) throw new Error(`no v1 memory cgroup at ${dirs.memory}`);
  return {
    version: 'v1',
    memory: {
      currentBytes: usage,
      limitBytes: limit === undefined || limit >= V1_UNLIMITED ? null : limit,
      peakBytes: maxUsage ?? null,
      oomKills,
      limitHits: Math.max(failcnt ?? 0, swapFailcnt ?? 0),
    },
    pids: { current: pidsCurrent ?? 0, max: pidsMax ?? null, forksRefused },
    cpu: {
      usageUsec: Math.floor((usageNs ?? 0) / 1000),
      throttledPeriods: cpuStat.get('nr_throttled') ?? 0,
      // v1 counts throttled time in nanoseconds.
      throttledUsec: Math.floor((cpuStat.get('throttled_time') ?? 0) / 1000),
      // -1 is v1's "no quota".
      quotaUsec: quota === undefined || quota < 0 ? null : quota,
      periodUsec: period ?? 100_000,
    },
  };
}
