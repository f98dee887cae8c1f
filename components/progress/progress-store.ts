/**
 * The learner's progress, kept in this browser: which steps of which lesson are done, and which
 * lesson they worked on last. The course map and the lesson pages read it; step checks write it.
 *
 * Step ids come from the lesson's headings. When a lesson is edited, ids that no longer exist
 * are simply not counted, so stale progress never shows more than 100%.
 */
import { z } from 'zod';
import { browserStorage, LocalStore, type StorageLike } from '../storage/local-store';

export const PROGRESS_STORAGE_KEY = 'isolab.progress.v1';

const ProgressData = z.object({
  lessons: z.record(
    z.string(),
    z.object({
      done: z.array(z.string()),
      updatedAt: z.number(),
    }),
  ),
  /** The lesson opened most recently, for "continue where you left off". */
  lastLesson: z.string().optional(),
});
export type ProgressData = z.infer<typeof ProgressData>;

export const EMPTY_PROGRESS: ProgressData = { lessons: {} };

/** The shape of a lesson that progress needs: its slug and its steps' ids. */
export interface LessonOutline {
  slug: string;
  title?: string;
  steps: ReadonlyArray<{ id: string }>;
}

export interface LessonProgress {
  done: number;
  total: number;
  complete: boolean;
  started: boolean;
  doneStepIds: ReadonlySet<string>;
  /** The first step not done yet, in lesson order. */
  nextStepId: string | undefined;
}

export class ProgressStore extends LocalStore<ProgressData> {
  constructor(storage?: StorageLike) {
    super(PROGRESS_STORAGE_KEY, ProgressData, EMPTY_PROGRESS, storage ?? browserStorage());
  }

  markStepDone(slug: string, stepId: string, now = Date.now()): void {
    this.set((data) => {
      const done = data.lessons[slug]?.done ?? [];
      if (done.includes(stepId)) return data;
      return { ...data, lessons: { ...data.lessons, [slug]: { done: [...done, stepId], updatedAt: now } }, lastLesson: slug };
    });
  }

  markStepNotDone(slug: string, stepId: string, now = Date.now()): void {
    this.set((data) => {
      const done = data.lessons[slug]?.done ?? [];
      if (!done.includes(stepId)) return data;
      return { ...data, lessons: { ...data.lessons, [slug]: { done: done.filter((id) => id !== stepId), updatedAt: now } } };
    });
  }

  /** Forgets every step of one lesson (the lesson's "Reset" button). */
  resetLesson(slug: string): void {
    this.set((data) => {
      if (!data.lessons[slug]) return data;
      const { [slug]: _removed, ...lessons } = data.lessons;
      return { ...data, lessons };
    });
  }

  /** Remembers the lesson the learner is on, for the course map's "Continue". */
  visitLesson(slug: string): void {
    this.set((data) => (data.lastLesson === slug ? data : { ...data, lastLesson: slug }));
  }
}

/** How far the learner got in one lesson. Pure, so the map and the lesson page agree. */
export function lessonProgress(data: ProgressData, lesson: LessonOutline): LessonProgress {
  const stored = new Set(data.lessons[lesson.slug]?.done ?? []);
  const doneStepIds = new Set(lesson.steps.filter((step) => stored.has(step.id)).map((step) => step.id));
  const total = lesson.steps.length;
  return {
    done: doneStepIds.size,
    total,
    complete: total > 0 && doneStepIds.size === total,
    started: doneStepIds.size > 0,
    doneStepIds,
    nextStepId: lesson.steps.find((step) => !doneStepIds.has(step.id))?.id,
  };
}

export type ContinueTarget =
  | { kind: 'start'; slug: string }
  | { kind: 'resume'; slug: string; stepId: string | undefined }
  | { kind: 'complete' };

/**
 * Where "Continue" should take the learner: back into the last lesson if it is unfinished,
 * otherwise the first unfinished lesson in agenda order after it, otherwise the first one
 * before it. A learner who has never started gets the first lesson.
 */
export function continueTarget(data: ProgressData, lessons: readonly LessonOutline[]): ContinueTarget | undefined {
  if (lessons.length === 0) return undefined;
  const started = Object.keys(data.lessons).length > 0 || data.lastLesson !== undefined;
  if (!started) return { kind: 'start', slug: lessons[0].slug };
  const lastIndex = Math.max(0, lessons.findIndex((lesson) => lesson.slug === data.lastLesson));
  const ordered = [...lessons.slice(lastIndex), ...lessons.slice(0, lastIndex)];
  for (const lesson of ordered) {
    const progress = lessonProgress(data, lesson);
    if (!progress.complete) return { kind: 'resume', slug: lesson.slug, stepId: progress.started ? progress.nextStepId : undefined };
  }
  return { kind: 'complete' };
}
