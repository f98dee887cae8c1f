import { describe, expect, it } from 'vitest';
import type { ClassPass } from '../../protocol';
import { CSV_HEADER, csvField, passesCsv, passesOverTime } from './class-record';

const pass = (displayName: string, lessonSlug: string, stepId: string, passedAt: number): ClassPass => ({ sessionId: 'ses-000000000001', displayName, lessonSlug, stepId, passedAt });

describe('the CSV export', () => {
  it('has one row per pass, oldest first, with UTC times', () => {
    const csv = passesCsv([pass('Grace', 'pid', 'ps', Date.UTC(2026, 10, 30, 9, 5)), pass('Ada', 'uts', 'read', Date.UTC(2026, 10, 30, 9, 0))]);
    expect(csv.split('\r\n')).toEqual([CSV_HEADER, 'Ada,uts,read,2026-11-30T09:00:00.000Z', 'Grace,pid,ps,2026-11-30T09:05:00.000Z', '']);
  });

  it('is only the header when nobody passed anything', () => {
    expect(passesCsv([])).toBe(`${CSV_HEADER}\r\n`);
  });

  it('quotes names with commas, quotes or line breaks, and defuses names that look like formulas', () => {
    expect(csvField('Lovelace, Ada')).toBe('"Lovelace, Ada"');
    expect(csvField('Ada "the first"')).toBe('"Ada ""the first"""');
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-dash')).toBe("'-dash");
    expect(csvField('@sum')).toBe("'@sum");
    expect(csvField('plain-name')).toBe('plain-name');
  });
});

describe('passes over time', () => {
  it('counts a lesson’s passes in equal slices from its first pass to now', () => {
    const passes = [pass('a', 'uts', 's1', 0), pass('b', 'uts', 's1', 10), pass('c', 'uts', 's2', 95), pass('d', 'pid', 'ps', 50)];
    expect(passesOverTime(passes, 'uts', 100, 10)).toEqual({ from: 0, to: 100, counts: [1, 1, 0, 0, 0, 0, 0, 0, 0, 1] });
    expect(passesOverTime(passes, 'ipc', 100)).toBeUndefined();
  });
});
