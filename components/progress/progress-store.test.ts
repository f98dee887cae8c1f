import { describe, expect, it, vi } from 'vitest';
import { continueTarget, EMPTY_PROGRESS, lessonProgress, PROGRESS_STORAGE_KEY, ProgressStore, type LessonOutline } from './progress-store';

/** A Map behind the Storage methods the store uses; `full` makes writes throw like a full quota. */
function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    items,
    full: false,
    getItem: (key: string) => items.get(key) ?? null,
    setItem(key: string, value: string) {
      if (this.full) throw new DOMException('quota exceeded', 'QuotaExceededError');
      items.set(key, value);
    },
    removeItem: (key: string) => void items.delete(key),
  };
}

const uts: LessonOutline = { slug: 'uts', steps: [{ id: 'look' }, { id: 'unshare' }, { id: 'rename' }] };
const pid: LessonOutline = { slug: 'pid', steps: [{ id: 'a' }, { id: 'b' }] };
const intro: LessonOutline = { slug: 'intro', steps: [{ id: 'x' }] };

describe('ProgressStore', () => {
  it('remembers passed steps across page loads (a new store reads what the last one wrote)', () => {
    const storage = memoryStorage();
    const store = new ProgressStore(storage);
    store.markStepDone('uts', 'look', 1000);
    store.markStepDone('uts', 'unshare', 2000);

    const reloaded = new ProgressStore(storage);
    expect(lessonProgress(reloaded.get(), uts)).toMatchObject({ done: 2, total: 3, complete: false, nextStepId: 'rename' });
    expect(reloaded.get().lastLesson).toBe('uts');
  });

  it('counts a step once however often its check passes', () => {
    const store = new ProgressStore(memoryStorage());
    store.markStepDone('uts', 'look');
    store.markStepDone('uts', 'look');
    expect(lessonProgress(store.get(), uts).done).toBe(1);
  });

  it('un-marks a marked step; a lesson reset clears its marks only, and no other lesson', () => {
    const store = new ProgressStore(memoryStorage());
    store.markStepDone('uts', 'look');
    store.setMarked('uts', 'rename', true);
    store.setMarked('uts', 'unshare', true);
    store.setMarked('pid', 'a', true);
    store.setMarked('uts', 'unshare', false);
    expect([...lessonProgress(store.get(), uts).doneStepIds]).toEqual(['look', 'rename']);

    store.resetLesson('uts');
    // The passed check stays: it is lab-server's record, not this browser's.
    expect([...lessonProgress(store.get(), uts).doneStepIds]).toEqual(['look']);
    expect(lessonProgress(store.get(), pid).done).toBe(1);
  });

  it('takes the class record’s passes over its own copy, and keeps the marks', () => {
    const store = new ProgressStore(memoryStorage());
    store.markStepDone('uts', 'look'); // the record no longer has it (the learner cleared it elsewhere)
    store.setMarked('uts', 'rename', true);
    store.adoptVerified([{ lessonSlug: 'uts', stepId: 'unshare', passedAt: 5 }]);
    expect([...lessonProgress(store.get(), uts).doneStepIds].sort()).toEqual(['rename', 'unshare']);
  });

  it('ignores step ids that the lesson no longer has, so progress never exceeds the total', () => {
    const storage = memoryStorage({ [PROGRESS_STORAGE_KEY]: JSON.stringify({ lessons: { uts: { done: ['look', 'gone-step'], updatedAt: 1 } } }) });
    expect(lessonProgress(new ProgressStore(storage).get(), uts)).toMatchObject({ done: 1, total: 3 });
  });

  it('starts fresh instead of crashing on corrupt or foreign data', () => {
    for (const junk of ['{not json', '"a string"', JSON.stringify({ lessons: { uts: { done: 'look' } } })]) {
      const store = new ProgressStore(memoryStorage({ [PROGRESS_STORAGE_KEY]: junk }));
      expect(store.get()).toEqual(EMPTY_PROGRESS);
    }
  });

  it('keeps progress for this visit when storage is full', () => {
    const storage = memoryStorage();
    storage.full = true;
    const store = new ProgressStore(storage);
    store.markStepDone('uts', 'look');
    expect(lessonProgress(store.get(), uts).done).toBe(1);
    expect(storage.items.size).toBe(0);
  });

  it('works with no storage at all (server rendering)', () => {
    const store = new ProgressStore(undefined);
    store.markStepDone('uts', 'look');
    expect(lessonProgress(store.get(), uts).done).toBe(1);
    expect(store.fallback).toEqual(EMPTY_PROGRESS);
  });

  it('tells subscribers about changes, and only about real ones', () => {
    const store = new ProgressStore(memoryStorage());
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    store.markStepDone('uts', 'look');
    store.markStepDone('uts', 'look');
    store.visitLesson('uts');
    expect(listener).toHaveBeenCalledTimes(1);
    unsubscribe();
    store.markStepDone('uts', 'rename');
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('picks up what another tab wrote on reload()', () => {
    const storage = memoryStorage();
    const mine = new ProgressStore(storage);
    new ProgressStore(storage).markStepDone('pid', 'a');
    mine.reload();
    expect(lessonProgress(mine.get(), pid).done).toBe(1);
  });
});

describe('continueTarget', () => {
  const lessons = [intro, uts, pid];

  it('starts a new learner at the first lesson', () => {
    expect(continueTarget(EMPTY_PROGRESS, lessons)).toEqual({ kind: 'start', slug: 'intro' });
  });

  it('resumes the last lesson at its first unfinished step', () => {
    const store = new ProgressStore(memoryStorage());
    store.markStepDone('uts', 'look');
    store.markStepDone('uts', 'rename');
    expect(continueTarget(store.get(), lessons)).toEqual({ kind: 'resume', slug: 'uts', stepId: 'unshare' });
  });

  it('opens a visited lesson at the top when no step is done yet', () => {
    const store = new ProgressStore(memoryStorage());
    store.visitLesson('pid');
    expect(continueTarget(store.get(), lessons)).toEqual({ kind: 'resume', slug: 'pid', stepId: undefined });
  });

  it('moves on to the next unfinished lesson, wrapping around to skipped ones', () => {
    const store = new ProgressStore(memoryStorage());
    for (const id of ['look', 'unshare', 'rename']) store.markStepDone('uts', id);
    expect(continueTarget(store.get(), lessons)).toEqual({ kind: 'resume', slug: 'pid', stepId: undefined });
    store.markStepDone('pid', 'a');
    store.markStepDone('pid', 'b');
    expect(continueTarget(store.get(), lessons)).toEqual({ kind: 'resume', slug: 'intro', stepId: undefined });
    store.markStepDone('intro', 'x');
    expect(continueTarget(store.get(), lessons)).toEqual({ kind: 'complete' });
  });
});
