import { describe, expect, it } from 'vitest';
import type { CgroupStats } from '../../../protocol';
import { EventDetector } from './event-detector';

function stats(change: { oomKills?: number; forksRefused?: number; throttledPeriods?: number } = {}): CgroupStats {
  return {
    version: 'v2',
    memory: { currentBytes: 1, limitBytes: 256, peakBytes: 1, oomKills: change.oomKills ?? 0, limitHits: 0 },
    pids: { current: 1, max: 256, forksRefused: change.forksRefused ?? 0 },
    cpu: { usageUsec: 0, throttledPeriods: change.throttledPeriods ?? 0, throttledUsec: 0, quotaUsec: 50_000, periodUsec: 100_000 },
  };
}

describe('the event detector', () => {
  it('takes the first reading as the baseline: kills before the panel opened are not news', () => {
    expect(new EventDetector().next(stats({ oomKills: 4, forksRefused: 2, throttledPeriods: 9 }), 0)).toEqual([]);
  });

  it('reports an OOM kill with how many processes were killed', () => {
    const detector = new EventDetector();
    detector.next(stats({ oomKills: 1 }), 0);
    const [event] = detector.next(stats({ oomKills: 3 }), 500);
    expect(event).toMatchObject({ kind: 'oom-kill', count: 2, at: 500 });
    expect(event.message).toContain('2 processes');
    expect(detector.next(stats({ oomKills: 3 }), 1000)).toEqual([]);
  });

  it('reports forks refused at pids.max', () => {
    const detector = new EventDetector();
    detector.next(stats(), 0);
    expect(detector.next(stats({ forksRefused: 1 }), 500)).toMatchObject([{ kind: 'fork-refused', count: 1 }]);
  });

  it('reports throttling once when it starts, and again only after it ended', () => {
    const detector = new EventDetector();
    detector.next(stats(), 0);
    expect(detector.next(stats({ throttledPeriods: 3 }), 1)).toMatchObject([{ kind: 'throttling-started', count: 3 }]);
    expect(detector.next(stats({ throttledPeriods: 8 }), 2)).toEqual([]);
    expect(detector.next(stats({ throttledPeriods: 8 }), 3)).toEqual([]);
    expect(detector.next(stats({ throttledPeriods: 8 }), 4)).toEqual([]);
    expect(detector.next(stats({ throttledPeriods: 8 }), 5)).toMatchObject([{ kind: 'throttling-ended' }]);
    expect(detector.next(stats({ throttledPeriods: 9 }), 6)).toMatchObject([{ kind: 'throttling-started', count: 1 }]);
  });

  it('treats a counter going down (a child cgroup removed) as a new baseline, not as an event', () => {
    const detector = new EventDetector();
    detector.next(stats({ oomKills: 2 }), 0);
    expect(detector.next(stats({ oomKills: 0 }), 1)).toEqual([]);
    expect(detector.next(stats({ oomKills: 1 }), 2)).toMatchObject([{ kind: 'oom-kill', count: 1 }]);
  });
});
