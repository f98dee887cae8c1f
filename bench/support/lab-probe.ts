/**
 * What a benchmark reads about a running lab-server from outside it: its /metrics (event loop
 * delay, the echo histogram), its CPU time, and its sandboxes' CPU throttling from their cgroups.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupHost } from '../../lab-server/src/cgroups/host';
import { cgroupPids, parentDirs } from '../../lab-server/src/cgroups/sandbox-cgroup';

/** Cumulative bucket counts of one histogram series, by upper bound (seconds; Infinity last). */
export type Buckets = Map<number, number>;

/** prom-client's (and the load script's) event loop monitor ticks every 10 ms; its delays include the tick. */
export const LOOP_MONITOR_RESOLUTION_MS = 10;

export interface MetricsSample {
  /**
   * p99 of lab-server's event loop delay since the previous scrape (prom-client resets it on each),
   * less the 10 ms between its timer's ticks, which Node's histogram counts in.
   */
  loopDelayP99Ms: number;
  /** The longest event loop delay since the previous scrape, less the same 10 ms. */
  loopDelayMaxMs: number;
  /** isolab_terminal_echo_seconds by stage. */
  echo: Record<'shell' | 'send', Buckets>;
}

export async function scrapeMetrics(labUrl: string): Promise<MetricsSample> {
  const text = await (await fetch(`${labUrl}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const echo: MetricsSample['echo'] = { shell: new Map(), send: new Map() };
  for (const match of text.matchAll(/^isolab_terminal_echo_seconds_bucket\{le="([^"]+)",stage="(shell|send)"\} (\d+)$/gm)) {
    echo[match[2] as 'shell' | 'send'].set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[3]));
  }
  const delayMs = (name: string) => Math.max(0, gauge(`isolab_process_nodejs_eventloop_lag_${name}_seconds`) * 1000 - LOOP_MONITOR_RESOLUTION_MS);
  return { loopDelayP99Ms: delayMs('p99'), loopDelayMaxMs: delayMs('max'), echo };
}

/** The counts between two scrapes of the same histogram. */
export function bucketDelta(after: Buckets, before: Buckets): Buckets {
  return new Map([...after].map(([le, count]) => [le, count - (before.get(le) ?? 0)]));
}

/** The q-quantile (0..1) of a histogram, in ms, interpolated within its bucket as Prometheus does. */
export function bucketQuantileMs(buckets: Buckets, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const count = buckets.get(le)!;
    if (count >= rank) {
      // Beyond the last finite bound all we know is "more than it".
      if (le === Infinity) return lower * 1000;
      return (lower + ((le - lower) * (rank - below)) / Math.max(1, count - below)) * 1000;
    }
    lower = le;
    below = count;
  }
  return NaN;
}

/** CPU seconds (user + system) a process has used, all its threads together. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted after the command name; USER_HZ is 100 on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface Throttling {
  /** CFS periods in which the sandboxes ran, and in which they were throttled, summed. */
  periods: number;
  throttled: number;
  /** Time the sandboxes waited for their next period, summed (over CPUs and sandboxes). */
  throttledMs: number;
}

/**
 * One cgroup's CPU throttling from its cpu.stat (v1 counts throttled time in ns, v2 in µs);
 * undefined where the cpu controller is not (another v1 hierarchy, or the cgroup just ended).
 */
export function cgroupThrottling(dir: string): Throttling | undefined {
  let stat: string;
  try {
    stat = readFileSync(join(dir, 'cpu.stat'), 'utf8');
  } catch {
    return undefined;
  }
  if (!stat.includes('nr_periods')) return undefined;
  const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
  const throttledMs = stat.includes('throttled_usec') ? counter('throttled_usec') / 1000 : counter('throttled_time') / 1e6;
  return { periods: counter('nr_periods'), throttled: counter('nr_throttled'), throttledMs };
}

/** CPU throttling summed over every sandbox cgroup of a lab, read on the host (v1 and v2). */
export function labThrottling(labName: string): Throttling {
  const total: Throttling = { periods: 0, throttled: 0, throttledMs: 0 };
  for (const parent of parentDirs(detectCgroupHost(), labName)) {
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      const one = entry.isDirectory() ? cgroupThrottling(join(parent, entry.name)) : undefined;
      if (!one) continue;
      total.periods += one.periods;
      total.throttled += one.throttled;
      total.throttledMs += one.throttledMs;
    }
  }
  return total;
}

/** Per process: time spent runnable but waiting for a CPU (ns) and times it got one, from /proc/<pid>/schedstat. */
export type SchedStats = Map<number, { waitNs: number; slices: number }>;

export function schedStats(pids: number[]): SchedStats {
  const stats: SchedStats = new Map();
  for (const pid of pids) {
    try {
      const [, waitNs, slices] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      stats.set(pid, { waitNs, slices });
    } catch {
      // Gone.
    }
  }
  return stats;
}

/** Mean wait for a CPU each time a process was woken, in ms, over the processes in both samples. */
export function meanSchedWaitMs(after: SchedStats, before: SchedStats): number {
  let waitNs = 0;
  let slices = 0;
  for (const [pid, now] of after) {
    const then = before.get(pid);
    if (!then) continue;
    waitNs += now.waitNs - then.waitNs;
    slices += now.slices - then.slices;
  }
  return slices ? waitNs / slices / 1e6 : NaN;
}

/**
 * The processes a keystroke's echo passes through besides lab-server: the sandboxes' shells (bash
 * in their cgroups, in the cpu hierarchy) and runc's console relays (the runc children of lab-server's spawner).
 */
export function labProcesses(labName: string, labPid: number): { shells: number[]; relays: number[] } {
  const nameOf = (pid: number | string) => {
    try {
      return readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return ''; // gone
    }
  };
  const shells: number[] = [];
  const cpuParent = parentDirs(detectCgroupHost(), labName).find((dir) => existsSync(join(dir, 'cpu.stat')));
  if (cpuParent) {
    for (const entry of readdirSync(cpuParent, { withFileTypes: true })) {
      if (entry.isDirectory()) shells.push(...cgroupPids(join(cpuParent, entry.name)).filter((pid) => /^Name:\s+bash$/m.test(nameOf(pid))));
    }
  }
  // runc is started by lab-server's spawner process (runtime/spawner.ts), a child of lab-server.
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => {
      const status = nameOf(entry);
      return { pid: Number(entry), parent: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]), runc: /^Name:\s+runc$/m.test(status) };
    });
  const labAndChildren = new Set([labPid, ...processes.filter((p) => p.parent === labPid).map((p) => p.pid)]);
  const relays = processes.filter((p) => p.runc && labAndChildren.has(p.parent)).map((p) => p.pid);
  return { shells, relays };
}
