import { describe, expect, it } from 'vitest';
import { formatAgo } from './format-time';

describe('formatAgo', () => {
  it('says "now" for a few seconds, and never goes negative on a clock that runs ahead', () => {
    expect(formatAgo(0)).toBe('now');
    expect(formatAgo(4_999)).toBe('now');
    expect(formatAgo(-30_000)).toBe('now');
  });

  it('counts seconds, then minutes, then hours and minutes', () => {
    expect(formatAgo(42_000)).toBe('42 s');
    expect(formatAgo(12 * 60_000 + 30_000)).toBe('12 min');
    expect(formatAgo(2 * 3_600_000)).toBe('2 h');
    expect(formatAgo(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min');
  });
});
