/**
 * The learner's progress as this browser last saw it: which steps of which lesson are done, and
 * which lesson they worked on last. The course map and the lesson pages read it. lab-server's
 * class record is the truth (a step is done when lab-server saw its check pass): every
 * connection replaces this copy with the record's (`adoptVerified`), so a cleared browser, another
 * browser or a resume code all show the same progress.
 *
 * Step ids come from the lesson's headings. When a lesson is edited, ids that no longer exist
 * are simply not counted, so stale progress never shows more than 100%.
 */
import { browserStorage, isObject, isStringArray, LocalStore, type StorageLike } from '../storage/local-store';

export const PROGRESS_STORAGE_KEY = 'isolab.progress.v1';

export interface ProgressData {
  lessons: Record<
    string,
    {
      /** Steps whose check lab-server saw pass (a copy of the class record). */
      done: string[];
      /** Steps without a check that the learner marked as done; only this browser knows them. */
      marked?: string[];
      updatedAt: number;
    }
  >;
  /** The lesson opened most recently, for "continue where you left off". */
  lastLesson?: string;
}

/** Stored progress as ProgressData, or undefined (then it starts empty) if any of it is not. */
function readProgress(stored: unknown): ProgressData | undefined {
  if (!isObject(stored) || !isObject(stored.lessons)) return undefined;
  const lessons: ProgressData['lessons'] = {};
  for (const [slug, lesson] of Object.entries(stored.lessons)) {
    if (!isObject(lesson) || !isStringArray(lesson.done) || typeof lesson.updatedAt !== 'number') return undefined;
    if (lesson.marked !== undefined && !isStringArray(lesson.marked)) return undefined;
    lessons[slug] = { done: lesson.done, ...(lesson.marked ? { marked: lesson.marked } : {}), updatedAt: lesson.updatedAt };
  }
  if (stored.lastLesson !== undefined && typeof stored.lastLesson !== 'string') return undefined;
  return { lessons, ...(stored.lastLesson !== undefined ? { lastLesson: stored.lastLesson } : {}) };
}

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
    super(PROGRESS_STORAGE_KEY, readProgress, EMPTY_PROGRESS, storage ?? browserStorage());
  }

  /** A check passed (lab-server recorded it too; its record replaces this copy on the next connection). */
  markStepDone(slug: string, stepId: string, now = Date.now()): void {
    this.set((data) => {
      const lesson = data.lessons[slug] ?? { done: [], updatedAt: now };
      if (lesson.done.includes(stepId)) return data;
      return { ...data, lessons: { ...data.lessons, [slug]: { ...lesson, done: [...lesson.done, stepId], updatedAt: now } }, lastLesson: slug };
    });
  }

  /** The learner marks a step without a check as done, or takes the mark back. */
  setMarked(slug: string, stepId: string, marked: boolean, now = Date.now()): void {
    this.set((data) => {
      const lesson = data.lessons[slug] ?? { done: [], updatedAt: now };
      const marks = lesson.marked ?? [];
      if (marks.includes(stepId) === marked) return data;
      const next = marked ? [...marks, stepId] : marks.filter((id) => id !== stepId);
      return { ...data, lessons: { ...data.lessons, [slug]: { ...lesson, marked: next, updatedAt: now } }, ...(marked ? { lastLesson: slug } : {}) };
    });
  }

  /** Replaces every lesson's passed steps with the passes lab-server recorded; marks and `lastLesson` stay. */
  adoptVerified(passes: ReadonlyArray<{ lessonSlug: string; stepId: string; passedAt: number }>): void {
    this.set((data) => {
      const lessons: ProgressData['lessons'] = {};
      for (const [slug, lesson] of Object.entries(data.lessons)) if (lesson.marked?.length) lessons[slug] = { done: [], marked: lesson.marked, updatedAt: lesson.updatedAt };
      for (const pass of passes) {
        const lesson = (lessons[pass.lessonSlug] ??= { done: [], updatedAt: 0 });
        lesson.done.push(pass.stepId);
        lesson.updatedAt = Math.max(lesson.updatedAt, pass.passedAt);
      }
      return { ...data, lessons };
    });
  }

  /** Forgets the marks of one lesson (the lesson's "Reset" button); passed checks stay, as in the class record. */
  resetLesson(slug: string): void {
    this.set((data) => {
      const lesson = data.lessons[slug];
      if (!lesson?.marked?.length) return data;
      return { ...data, lessons: { ...data.lessons, [slug]: { ...lesson, marked: [] } } };
    });
  }

  /** Remembers the lesson the learner is on, for the course map's "Continue". */
  visitLesson(slug: string): void {
    this.set((data) => (data.lastLesson === slug ? data : { ...data, lastLesson: slug }));
  }
}

/** How far the learner got in one lesson. Pure, so the map and the lesson page agree. */
export function lessonProgress(data: ProgressData, lesson: LessonOutline): LessonProgress {
  const stored = new Set(doneSteps(data, lesson.slug));
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

/** The steps of a lesson that are done: passed checks and marked steps without one. */
export function doneSteps(data: ProgressData, slug: string): string[] {
  const lesson = data.lessons[slug];
  return lesson ? [...lesson.done, ...(lesson.marked ?? [])] : [];
}

export function isStepDone(data: ProgressData, slug: string, stepId: string): boolean {
  return doneSteps(data, slug).includes(stepId);
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
