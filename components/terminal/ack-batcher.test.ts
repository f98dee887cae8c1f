import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLOW_CONTROL } from '../../protocol/flow-control';
import { ACK_IDLE_MS, AckBatcher } from './ack-batcher';

describe('AckBatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('acks a full batch at once, without waiting', () => {
    const acks: number[] = [];
    const batcher = new AckBatcher((chars) => acks.push(chars));
    batcher.written(FLOW_CONTROL.ackEveryChars - 1);
    expect(acks).toEqual([]);
    batcher.written(10);
    expect(acks).toEqual([FLOW_CONTROL.ackEveryChars + 9]);
  });

  it('acks a small remainder after a short idle time, so the server never waits forever', () => {
    const acks: number[] = [];
    const batcher = new AckBatcher((chars) => acks.push(chars));
    batcher.written(120);
    batcher.written(30);
    vi.advanceTimersByTime(ACK_IDLE_MS - 1);
    expect(acks).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(acks).toEqual([150]);
  });

  it('acknowledges every char exactly once over a long stream', () => {
    const acks: number[] = [];
    const batcher = new AckBatcher((chars) => acks.push(chars));
    let total = 0;
    for (let i = 0; i < 500; i++) {
      const chars = 37 + ((i * 7919) % 4000);
      total += chars;
      batcher.written(chars);
      if (i % 50 === 0) vi.advanceTimersByTime(ACK_IDLE_MS);
    }
    vi.advanceTimersByTime(ACK_IDLE_MS);
    expect(acks.reduce((a, b) => a + b, 0)).toBe(total);
    expect(acks.every((chars) => chars > 0)).toBe(true);
  });

  it('sends nothing after dispose', () => {
    const acks: number[] = [];
    const batcher = new AckBatcher((chars) => acks.push(chars));
    batcher.written(100);
    batcher.dispose();
    vi.advanceTimersByTime(ACK_IDLE_MS * 2);
    batcher.written(FLOW_CONTROL.ackEveryChars);
    expect(acks).toEqual([]);
  });
});
