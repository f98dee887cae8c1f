/**
 * Loads every lesson in `lessons/`, in agenda order, and checks the course-wide rules (unique
 * slugs and agenda positions). Server-side only: the web app calls it at build time, the course
 * test runner and the browser tests call it directly.
 *
 * The directory is always `<cwd>/lessons`, never a parameter: Turbopack traces the files a
 * server module reads, and a dynamic path makes it trace the whole repository (slow, and fatal
 * on the dangling symlinks in lab-server's /proc fixtures).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LessonError, parseLesson, type Lesson } from './parse-lesson';

let cached: Lesson[] | undefined;

/** Every lesson in agenda order. Throws a LessonError (file and reason) for a broken one. */
export function loadLessons(): Lesson[] {
  // A production build reads the lessons once; dev and tests see edits at once.
  if (cached && process.env.NODE_ENV === 'production') return cached;
  const dir = join(process.cwd(), 'lessons');
  const lessons = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => parseLesson(readFileSync(join(dir, name), 'utf8'), `lessons/${name}`));
  for (const lesson of lessons) {
    const sameSlug = lessons.find((other) => other !== lesson && other.slug === lesson.slug);
    if (sameSlug) throw new LessonError(lesson.file, `slug "${lesson.slug}" is also used by ${sameSlug.file}`);
    const sameOrder = lessons.find((other) => other !== lesson && other.order === lesson.order);
    if (sameOrder) throw new LessonError(lesson.file, `order ${lesson.order} is also used by ${sameOrder.file}`);
  }
  cached = lessons.sort((a, b) => a.order - b.order);
  return cached;
}
