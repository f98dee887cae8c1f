/**
 * Loads every lesson in `lessons/`, in agenda order. Server-side only (reads files); the web app
 * calls it at build time, and the course test runner calls it directly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LessonError, parseLesson, type Lesson } from './parse-lesson';

export const LESSONS_DIR = join(process.cwd(), 'lessons');

export function loadLessons(dir: string = LESSONS_DIR): Lesson[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort();
  const lessons = files.map((name) => {
    const path = join(dir, name);
    return parseLesson(readFileSync(path, 'utf8'), relative(process.cwd(), path) || path);
  });
  for (const lesson of lessons) {
    const sameSlug = lessons.find((other) => other !== lesson && other.slug === lesson.slug);
    if (sameSlug) throw new LessonError(lesson.file, `slug "${lesson.slug}" is also used by ${sameSlug.file}`);
    const sameOrder = lessons.find((other) => other !== lesson && other.order === lesson.order);
    if (sameOrder) throw new LessonError(lesson.file, `order ${lesson.order} is also used by ${sameOrder.file}`);
  }
  return lessons.sort((a, b) => a.order - b.order);
}

export function findLesson(slug: string, dir: string = LESSONS_DIR): Lesson | undefined {
  return loadLessons(dir).find((lesson) => lesson.slug === slug);
}
