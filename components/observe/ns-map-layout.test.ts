import { describe, expect, it } from 'vitest';
import type { NamespaceMap } from '../../protocol';
import { DOT_RADIUS, layoutNamespaceMap } from './ns-map-layout';

const map: NamespaceMap = {
  at: 0,
  processes: [
    { hostPid: 100, pidInside: 1, parentHostPid: null, command: '/bin/bash -l', namespaces: { uts: 10, net: 20, time: 30 } },
    { hostPid: 101, pidInside: 8, parentHostPid: 100, command: 'sleep 100', namespaces: { uts: 11, net: 20, time: 30 } },
    { hostPid: 102, pidInside: 9, parentHostPid: 100, command: 'sleep 5', namespaces: { uts: 10, net: 20, time: 30 } },
  ],
  namespaces: [
    { kind: 'uts', inode: 11, origin: 'nested', processes: [101], mountedAt: [] },
    { kind: 'uts', inode: 10, origin: 'sandbox', processes: [100, 102], mountedAt: [] },
    { kind: 'net', inode: 20, origin: 'sandbox', processes: [100, 101, 102], mountedAt: [] },
    { kind: 'net', inode: 21, origin: 'nested', processes: [], mountedAt: ['/run/netns/blue'] },
    { kind: 'time', inode: 30, origin: 'host', processes: [100, 101, 102], mountedAt: [] },
  ],
};

describe('the namespace map layout', () => {
  it('draws one row per kind present, in teaching order', () => {
    expect(layoutNamespaceMap(map).rows.map((r) => r.kind)).toEqual(['net', 'uts', 'time']);
  });

  it("puts the sandbox's own namespace first and the learner's new one beside it", () => {
    const uts = layoutNamespaceMap(map).rows.find((r) => r.kind === 'uts')!;
    expect(uts.bubbles.map((b) => [b.namespace.inode, b.processes.map((p) => p.process.pidInside)])).toEqual([
      [10, [1, 9]],
      [11, [8]],
    ]);
    expect(uts.bubbles[1].cx).toBeGreaterThan(uts.bubbles[0].cx + uts.bubbles[0].r);
  });

  it('draws an empty bubble for a namespace that only a bind mount keeps alive', () => {
    const net = layoutNamespaceMap(map).rows.find((r) => r.kind === 'net')!;
    expect(net.bubbles[1]).toMatchObject({ namespace: { inode: 21 }, processes: [] });
  });

  it('keeps every process dot inside its bubble and apart from the others', () => {
    const many: NamespaceMap = {
      at: 0,
      processes: Array.from({ length: 20 }, (_, i) => ({ hostPid: 200 + i, pidInside: i + 1, parentHostPid: null, command: 'x', namespaces: { pid: 1 } })),
      namespaces: [{ kind: 'pid', inode: 1, origin: 'sandbox', processes: Array.from({ length: 20 }, (_, i) => 200 + i), mountedAt: [] }],
    };
    const [bubble] = layoutNamespaceMap(many).rows[0].bubbles;
    for (const dot of bubble.processes) expect(Math.hypot(dot.x - bubble.cx, dot.y - bubble.cy) + DOT_RADIUS).toBeLessThanOrEqual(bubble.r);
    for (const a of bubble.processes) for (const b of bubble.processes) if (a !== b) expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeGreaterThanOrEqual(2 * DOT_RADIUS);
  });
});
