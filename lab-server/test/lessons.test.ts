/**
 * The course, proven: every lesson is played in a fresh sandbox the way a learner would play it.
 *
 * For each step, in order: a check that must fail first (the default) is run and must fail; every
 * runnable block is typed into its terminal line by line, waiting for the shell prompt after each
 * line (so a block that starts a nested shell leaves the next blocks running inside it, exactly as
 * for a learner); then the check must pass. Since "fails before the step" is the state the sandbox
 * is in when the step is skipped, this also proves that each such check can fail.
 *
 * A lesson whose commands stop working, or whose checks stop telling a done step from a skipped
 * one, fails here with the file, the step, the check's output and the screens of its terminals.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLessons } from '../../lib/lessons/load-lessons';
import { parseLesson } from '../../lib/lessons/parse-lesson';
import { emptyTimings, LessonFailure, playLesson, type LessonTimings, type Tally } from './support/lesson-runner';
import { bound } from './support/slowdown';
import { startTestLab, type TestLab } from './support/test-lab';

/** Lessons played at the same time. Each has its own sandbox; two keep a 2-core machine busy. */
const PARALLEL = 2;
/** One lesson, including the time it may wait for a free slot. */
const LESSON_TIMEOUT_MS = bound(8 * 60_000);

/**
 * `ISOLAB_LESSONS=03,user` plays only the lessons whose file name starts with, or whose slug is,
 * one of the comma-separated words: for whoever is writing a lesson, and for the cgroup v2 stage.
 * Unset, empty or `all`: every lesson, as CI plays them natively.
 */
const only = (process.env.ISOLAB_LESSONS ?? '').split(',').map((word) => word.trim()).filter((word) => word && word !== 'all');
const lessons = loadLessons().filter((lesson) => only.length === 0 || only.some((word) => lesson.slug === word || lesson.file.startsWith(`lessons/${word}`)));
/**
 * `ISOLAB_LESSON_TIMINGS=FILE` appends one line per lesson to FILE: where its time went (waiting
 * for a slot, the sandbox's start, typing, checks, the slowest line and check). The cgroup v2
 * stage prints it, for whoever budgets the stage.
 */
const timingsFile = process.env.ISOLAB_LESSON_TIMINGS;
let lab: TestLab;

beforeAll(async () => {
  lab = await startTestLab();
});
afterAll(() => lab?.close());

const slots = semaphore(PARALLEL);

describe.concurrent('the course', () => {
  it('has lessons to play', () => {
    expect(lessons.length).toBeGreaterThan(0);
  });

  it('fails a lesson whose block does not print what its expect block says, and ignores the echo of the command', () =>
    slots(async () => {
      const lessonExpecting = (patterns: string) =>
        parseLesson(
          ['---', 'title: Expectations', 'slug: expectations', 'order: 1', 'summary: A lesson that states its output.', 'duration: 1', 'objectives: [print]', '---',
            '## Print', '```sh run', 'echo "$((6 * 7))"', '```', '```expect', patterns, '```', '```check hint="h" may-pass-before', 'true', '```'].join('\n'),
          'expectations.md',
        );
      const client = await lab.connect();
      try {
        await expect(playLesson(client, lessonExpecting('^42$\n! ^41$'))).resolves.toHaveLength(1);
        // "6 \* 7" is only in the typed command, which the shell echoes: that is not output.
        await expect(playLesson(client, lessonExpecting('6 \\* 7'))).rejects.toThrow(LessonFailure);
        await expect(playLesson(client, lessonExpecting('! ^42$'))).rejects.toThrow(/shows what it must not: \/\^42\$\/ matched/);
      } finally {
        client.close();
      }
    }),
  );

  for (const lesson of lessons) {
    it(
      `${lesson.file}: each check fails before its step and passes after it`,
      () => {
        const queued = Date.now();
        return slots(async () => {
          const started = Date.now();
          const timings = emptyTimings();
          // A session of its own per lesson, as a learner would have, within the per-session limit.
          const client = await lab.connect();
          let verdict = 'failed';
          try {
            const outcomes = await playLesson(client, lesson, { timings });
            expect(outcomes.map((o) => o.step.id)).toEqual(lesson.steps.map((s) => s.id));
            verdict = 'passed';
          } finally {
            client.close();
            if (timingsFile) appendFileSync(timingsFile, `${describeTimings(lesson.file, verdict, started - queued, Date.now() - started, timings)}\n`);
          }
        });
      },
      LESSON_TIMEOUT_MS,
    );
  }
});

/** Runs at most `size` tasks at a time. */
function semaphore(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (running >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** One line: `lessons/02-cgroups.md passed 95 s (slot wait 30 s): start 12 s, 40 lines 50 s (slowest 9 s: stress-ng …), 8 checks 30 s (slowest 6 s: Limit memory)`. */
function describeTimings(file: string, verdict: string, waitedMs: number, tookMs: number, t: LessonTimings): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const tally = (name: string, { ms, count, slowest }: Tally) => `${count} ${name} ${s(ms)}${slowest ? ` (slowest ${s(slowest.ms)}: ${slowest.what.slice(0, 60)})` : ''}`;
  return `${file} ${verdict} ${s(tookMs)} (slot wait ${s(waitedMs)}): start ${s(t.openMs)}, ${tally('lines', t.lines)}, ${tally('checks', t.checks)}`;
}
