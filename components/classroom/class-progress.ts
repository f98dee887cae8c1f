/**
 * Where the class is, per lesson and step: how many passed each step, and how many are working
 * on it right now. The step where most of the class is working, with the fewest through it, is
 * where the class is stuck. Pure, so the dashboard and its tests agree.
 */
import type { ClassState } from '../../protocol';
import type { OutlineLesson } from './course-outline';

export interface StepProgress {
  id: string;
  title: string;
  /** Learners who passed this step. */
  passed: number;
  /** Learners whose current step this is (connected ones only). */
  here: string[];
}

export interface LessonProgressSummary {
  slug: string;
  title: string;
  order: number;
  /** Learners in this lesson now, or who passed any of its steps: the bars' 100%. */
  learners: number;
  steps: StepProgress[];
  /** The step with the most learners working on it, if any learner is working on one. */
  stuckStepId?: string;
}

export function classProgress(state: Pick<ClassState, 'learners' | 'stepPasses'>, lessons: readonly OutlineLesson[]): LessonProgressSummary[] {
  const summaries: LessonProgressSummary[] = [];
  for (const lesson of lessons) {
    const involved = state.learners.filter(
      (learner) => (learner.connected && learner.lessonSlug === lesson.slug) || (learner.passed[lesson.slug]?.length ?? 0) > 0,
    );
    if (involved.length === 0) continue;
    const passes = state.stepPasses[lesson.slug] ?? {};
    const steps = lesson.steps.map((step) => ({
      id: step.id,
      title: step.title,
      passed: passes[step.id] ?? 0,
      here: state.learners
        .filter((learner) => learner.connected && learner.lessonSlug === lesson.slug && learner.stepId === step.id)
        .map((learner) => learner.displayName),
    }));
    const busiest = steps.reduce<StepProgress | undefined>((best, step) => (step.here.length > (best?.here.length ?? 0) ? step : best), undefined);
    summaries.push({ slug: lesson.slug, title: lesson.title, order: lesson.order, learners: involved.length, steps, stuckStepId: busiest?.id });
  }
  return summaries;
}
