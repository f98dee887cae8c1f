/**
 * The lessons as the web app reads them at build time.
 *
 * Why not lib/lessons/load-lessons.ts directly: Turbopack traces the files a server module reads,
 * and that loader's `dir` parameter is dynamic, so Turbopack traces the whole repository. That
 * is slow, and it fails the build outright on any dangling symlink (lab-server's /proc
 * fixtures have some). A fixed path here traces only lessons/. Parsing, and every rule about
 * what a valid lesson is, stays in lib/lessons/parse-lesson.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LessonError, parseLesson, type Lesson } from '../../lib/lessons/parse-lesson';

let cached: Lesson[] | undefined;

/** Every lesson in agenda order. Throws a LessonError (file and reason) for a broken one. */
export function courseLessons(): Lesson[] {
  if (cached && process.env.NODE_ENV === 'production') return cached;
  const dir = join(process.cwd(), 'lessons');
  const lessons = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => parseLesson(readFileSync(join(dir, name), 'utf8'), `lessons/${name}`));
  // The same course-wide rules as lib's loadLessons: slugs and agenda positions are unique.
  for (const lesson of lessons) {
    const sameSlug = lessons.find((other) => other !== lesson && other.slug === lesson.slug);
    if (sameSlug) throw new LessonError(lesson.file, `slug "${lesson.slug}" is also used by ${sameSlug.file}`);
    const sameOrder = lessons.find((other) => other !== lesson && other.order === lesson.order);
    if (sameOrder) throw new LessonError(lesson.file, `order ${lesson.order} is also used by ${sameOrder.file}`);
  }
  cached = lessons.sort((a, b) => a.order - b.order);
  return cached;
}
