/**
 * The class record as the instructor takes it away: every pass as CSV (learner, lesson, step,
 * passed at), and per lesson how many passes came in over time. Pure, so both are unit-tested.
 */
import type { ClassPass } from '../../protocol';

export const CSV_HEADER = 'learner,lesson,step,passed_at';

/**
 * One field of a CSV row. Quoted when it holds a comma, quote or line break; and a name that
 * starts like a formula (= + - @, tab, CR) gets a leading apostrophe, so a spreadsheet shows it
 * as text instead of running it: display names are learner-chosen.
 */
export function csvField(value: string): string {
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every pass, one row each, oldest first; times in UTC (ISO 8601). Lines end with CRLF (RFC 4180). */
export function passesCsv(passes: readonly ClassPass[]): string {
  const rows = [...passes]
    .sort((a, b) => a.passedAt - b.passedAt)
    .map((pass) => [pass.displayName, pass.lessonSlug, pass.stepId, new Date(pass.passedAt).toISOString()].map(csvField).join(','));
  return [CSV_HEADER, ...rows].join('\r\n') + '\r\n';
}

export interface PassTimeline {
  from: number;
  to: number;
  /** Passes per equal slice of [from, to]. */
  counts: number[];
}

/** A lesson's passes over time, in `slices` equal slices from its first pass to `now`. */
export function passesOverTime(passes: readonly ClassPass[], lessonSlug: string, now: number, slices = 24): PassTimeline | undefined {
  const times = passes.filter((pass) => pass.lessonSlug === lessonSlug).map((pass) => pass.passedAt);
  if (times.length === 0) return undefined;
  const from = Math.min(...times);
  const to = Math.max(now, ...times);
  const width = Math.max(1, (to - from) / slices);
  const counts = new Array<number>(slices).fill(0);
  for (const time of times) counts[Math.min(slices - 1, Math.floor((time - from) / width))]++;
  return { from, to, counts };
}
