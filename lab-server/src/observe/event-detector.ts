/**
 * Turns two readings of a cgroup's counters into the events a learner should notice: an OOM kill,
 * a fork refused at pids.max, throttling that starts (and ends).
 *
 * The kernel only keeps counters, so an event is a counter that moved. The first reading only
 * sets the baseline: what happened before the panel opened is in the totals, not the timeline.
 * A counter that goes down (a child cgroup holding some of the count was removed) resets the
 * baseline quietly instead of inventing negative events.
 */
import type { CgroupStats, ObserveEvent } from '../../../protocol';

/** Readings in a row without new throttling before throttling counts as ended. */
const QUIET_READINGS_TO_END_THROTTLING = 3;

export class EventDetector {
  private previous: CgroupStats | undefined;
  private throttling = false;
  private quietReadings = 0;

  next(stats: CgroupStats, at: number): ObserveEvent[] {
    const previous = this.previous;
    this.previous = stats;
    if (!previous) return [];
    const events: ObserveEvent[] = [];

    const oomKills = stats.memory.oomKills - previous.memory.oomKills;
    if (oomKills > 0) {
      events.push({
        at,
        kind: 'oom-kill',
        count: oomKills,
        message: `The OOM killer ended ${plural(oomKills, 'process', 'processes')}: memory use reached a limit and nothing more could be reclaimed.`,
      });
    }

    const refused = stats.pids.forksRefused - previous.pids.forksRefused;
    if (refused > 0) {
      events.push({
        at,
        kind: 'fork-refused',
        count: refused,
        message: `${plural(refused, 'fork was', 'forks were')} refused: a pids.max limit was reached.`,
      });
    }

    const throttled = stats.cpu.throttledPeriods - previous.cpu.throttledPeriods;
    if (throttled > 0) {
      this.quietReadings = 0;
      if (!this.throttling) {
        this.throttling = true;
        const quota = stats.cpu.quotaUsec === null ? '' : ` of ${formatCpus(stats.cpu.quotaUsec / stats.cpu.periodUsec)}`;
        events.push({
          at,
          kind: 'throttling-started',
          count: throttled,
          message: `Throttling started: the sandbox used up its CPU quota${quota} and now waits for the next period.`,
        });
      }
    } else if (this.throttling && ++this.quietReadings >= QUIET_READINGS_TO_END_THROTTLING) {
      this.throttling = false;
      events.push({ at, kind: 'throttling-ended', count: 0, message: 'Throttling ended: the sandbox stays within its CPU quota again.' });
    }
    return events;
  }
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function formatCpus(cpus: number): string {
  return `${Number(cpus.toFixed(2))} CPU`;
}
