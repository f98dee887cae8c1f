import { describe, expect, it } from 'vitest';
import { FakeLabClient } from '../../lib/fake-lab-client';
import type { MeterSample } from '../../protocol';
import { HISTORY_SAMPLES, ObserveFeed } from './observe-feed';

/** A client that answers the observe requests and lets the test play server events. */
function fakeClient() {
  const fake = new FakeLabClient({ answer: (event) => (event === 'observe:subscribe' ? { cgroupVersion: 'v1', intervalMs: 500 } : {}) });
  return { client: fake.client, requests: fake.requests, emit: fake.emit.bind(fake), listenerCount: () => fake.listenerCount() };
}

const sample = (at: number): MeterSample => ({
  at,
  cpuUsage: null,
  throttledMsPerSecond: null,
  stats: {
    version: 'v1',
    memory: { currentBytes: at, limitBytes: 100, peakBytes: at, oomKills: 0, limitHits: 0 },
    pids: { current: 1, max: 10, forksRefused: 0 },
    cpu: { usageUsec: 0, throttledPeriods: 0, throttledUsec: 0, quotaUsec: 50_000, periodUsec: 100_000 },
  },
});

describe('the observe feed', () => {
  it('subscribes to the views on screen, and unsubscribes when none is', async () => {
    const { client, requests } = fakeClient();
    const feed = new ObserveFeed(client, 'sbx-aaaaaaaa');
    await feed.show(['meters']);
    await feed.show(['meters']);
    await feed.show([]);
    expect(requests).toEqual([
      ['observe:subscribe', { sandboxId: 'sbx-aaaaaaaa', views: ['meters'] }],
      ['observe:unsubscribe', { sandboxId: 'sbx-aaaaaaaa' }],
    ]);
    expect(feed.state.get().cgroupVersion).toBe('v1');
  });

  it('keeps a bounded history for the charts, and ignores other sandboxes', async () => {
    const { client, emit } = fakeClient();
    const feed = new ObserveFeed(client, 'sbx-aaaaaaaa');
    for (let at = 0; at < HISTORY_SAMPLES + 30; at++) emit('observe:meters', { sandboxId: 'sbx-aaaaaaaa', sample: sample(at) });
    emit('observe:meters', { sandboxId: 'sbx-bbbbbbbb', sample: sample(-1) });
    const { history } = feed.state.get();
    expect(history).toHaveLength(HISTORY_SAMPLES);
    expect(history.at(-1)!.at).toBe(HISTORY_SAMPLES + 29);
  });

  it('puts the newest event first', () => {
    const { client, emit } = fakeClient();
    const feed = new ObserveFeed(client, 'sbx-aaaaaaaa');
    emit('observe:event', { sandboxId: 'sbx-aaaaaaaa', event: { at: 1, kind: 'throttling-started', count: 1, message: '' } });
    emit('observe:event', { sandboxId: 'sbx-aaaaaaaa', event: { at: 2, kind: 'oom-kill', count: 1, message: '' } });
    expect(feed.state.get().events.map((e) => e.kind)).toEqual(['oom-kill', 'throttling-started']);
  });

  it('stops listening and unsubscribes when disposed', async () => {
    const { client, requests, listenerCount } = fakeClient();
    const feed = new ObserveFeed(client, 'sbx-aaaaaaaa');
    await feed.show(['nsMap']);
    feed.dispose();
    expect(listenerCount()).toBe(0);
    expect(requests.at(-1)).toEqual(['observe:unsubscribe', { sandboxId: 'sbx-aaaaaaaa' }]);
  });
});
