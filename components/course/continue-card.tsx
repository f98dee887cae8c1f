'use client';

import Link from 'next/link';
import { continueTarget, lessonProgress, type LessonOutline } from '../progress/progress-store';
import { useProgress } from '../progress/use-progress';
import { buttonVariants } from '../ui/button';
import { ArrowRightIcon, CheckIcon } from '../ui/icons';
import { InlineTitle } from '../lesson/inline-title';

export interface CourseLesson extends LessonOutline {
  title: string;
  order: number;
  steps: Array<{ id: string; title: string }>;
}

/** "Continue where you left off": one click back to the right lesson and step. */
export function ContinueCard({ lessons }: { lessons: CourseLesson[] }) {
  const progress = useProgress();
  const target = continueTarget(progress, lessons);
  const doneSteps = lessons.reduce((sum, lesson) => sum + lessonProgress(progress, lesson).done, 0);
  const totalSteps = lessons.reduce((sum, lesson) => sum + lesson.steps.length, 0);

  if (!target) return null;
  if (target.kind === 'complete') {
    return (
      <div className="flex items-center gap-3 rounded-xl border border-success/30 bg-success-soft p-4 text-sm" data-testid="continue-card">
        <CheckIcon className="size-5 text-success" />
        <span>
          <strong className="font-semibold">You finished every lesson.</strong> Revisit any of them below, or reset one to do it again.
        </span>
      </div>
    );
  }

  const lesson = lessons.find((candidate) => candidate.slug === target.slug)!;
  const step = target.kind === 'resume' && target.stepId ? lesson.steps.find((candidate) => candidate.id === target.stepId) : undefined;
  const href = `/lessons/${lesson.slug}${step ? `#${step.id}` : ''}`;
  return (
    <div className="flex flex-wrap items-center gap-4 rounded-xl border bg-card p-4 shadow-xs" data-testid="continue-card">
      <div className="min-w-0 flex-1">
        <p className="text-xs font-medium tracking-wide text-muted-foreground uppercase">
          {target.kind === 'start' ? 'Start here' : 'Continue where you left off'}
        </p>
        <p className="mt-1 font-medium text-pretty">
          Lesson {lesson.order}: <InlineTitle text={lesson.title} />
        </p>
        {target.kind === 'resume' ? (
          <p className="mt-0.5 text-sm text-muted-foreground">
            {step ? (
              <>
                Next step: <InlineTitle text={step.title} />
                <span aria-hidden> · </span>
              </>
            ) : null}
            <span className="tabular-nums">
              {doneSteps} of {totalSteps} steps done in the course
            </span>
          </p>
        ) : null}
      </div>
      <Link href={href} className={buttonVariants({ variant: 'primary', size: 'lg' })}>
        {target.kind === 'start' ? 'Start the course' : 'Continue'}
        <ArrowRightIcon />
      </Link>
    </div>
  );
}
