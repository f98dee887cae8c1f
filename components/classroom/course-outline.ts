/**
 * The shape of the course the instructor's pages need in the browser: each lesson's slug,
 * title and steps, without the lesson text. Made on the server from the lesson files.
 */
import { loadLessons } from '../../lib/lessons/load-lessons';

export interface OutlineLesson {
  slug: string;
  title: string;
  order: number;
  /** `checked`: the step has a check, so it can be passed (absent: assume it has). */
  steps: Array<{ id: string; title: string; checked?: boolean }>;
}

export function courseOutline(): OutlineLesson[] {
  return loadLessons().map((lesson) => ({
    slug: lesson.slug,
    title: lesson.title,
    order: lesson.order,
    steps: lesson.steps.map((step) => ({ id: step.id, title: step.title, checked: Boolean(step.check) })),
  }));
}
