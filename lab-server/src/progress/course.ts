/**
 * The course as lab-server knows it: every lesson's steps and their checks, read at startup with
 * the web app's own parser (lib/lessons), so the check a learner sees on the page is the one
 * lab-server runs. A check is found by lesson and step; the browser never sends a command.
 */
import type { Lesson, LessonCheck } from '../../../lib/lessons/parse-lesson';
import { loadLessons } from '../../../lib/lessons/load-lessons';
import { LabError } from '../errors';

export class Course {
  private readonly lessons: Map<string, Lesson>;

  constructor(lessons: Lesson[]) {
    this.lessons = new Map(lessons.map((lesson) => [lesson.slug, lesson]));
  }

  /** The lessons in `<cwd>/lessons` (lab-server runs from the repository, as the web app does). */
  static load(): Course {
    return new Course(loadLessons());
  }

  get size(): number {
    return this.lessons.size;
  }

  /** The step's check; a refusal that names what is missing otherwise. */
  check(lessonSlug: string, stepId: string): LessonCheck {
    const lesson = this.lessons.get(lessonSlug);
    if (!lesson) throw new LabError('NOT_FOUND', `There is no lesson "${lessonSlug}" in this lab's course.`);
    const step = lesson.steps.find((candidate) => candidate.id === stepId);
    if (!step) throw new LabError('NOT_FOUND', `The lesson "${lesson.title}" has no step "${stepId}". Reload the page to get the current lesson.`);
    if (!step.check) throw new LabError('BAD_REQUEST', `The step "${step.title}" has no check to run.`);
    return step.check;
  }
}
