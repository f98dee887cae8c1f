import type { ClassState } from '../../protocol';
import { cn } from '../ui/cn';
import { classProgress } from './class-progress';
import type { OutlineLesson } from './course-outline';

/**
 * Per lesson, a bar for each step: how many of the class passed it, and who is working on it
 * now. The step where most are working is marked, so "where is the class stuck?" is a glance.
 */
export function ClassProgressPanel({ state, lessons }: { state: ClassState; lessons: OutlineLesson[] }) {
  const summaries = classProgress(state, lessons);
  if (summaries.length === 0) {
    return <p className="px-5 py-8 text-center text-muted-foreground">Step progress shows up here once learners open a lesson.</p>;
  }
  return (
    <div className="divide-y" data-testid="class-progress">
      {summaries.map((lesson) => (
        <section key={lesson.slug} aria-labelledby={`progress-${lesson.slug}`} className="px-5 py-4" data-testid={`class-progress-${lesson.slug}`}>
          <h3 id={`progress-${lesson.slug}`} className="flex flex-wrap items-baseline gap-x-3 font-semibold tracking-tight">
            <span>
              <span className="mr-1.5 font-mono text-sm text-muted-foreground">{String(lesson.order).padStart(2, '0')}</span>
              {lesson.title.replace(/`/g, '')}
            </span>
            <span className="text-sm font-normal text-muted-foreground">
              {lesson.learners} learner{lesson.learners === 1 ? '' : 's'}
            </span>
          </h3>
          <ol className="mt-3 space-y-2">
            {lesson.steps.map((step, index) => {
              const percent = lesson.learners > 0 ? Math.round((step.passed / lesson.learners) * 100) : 0;
              const stuck = step.id === lesson.stuckStepId;
              return (
                <li
                  key={step.id}
                  className={cn('grid grid-cols-[1.75rem_minmax(6rem,20rem)_minmax(4rem,1fr)_auto] items-center gap-x-3 rounded-md px-1.5 py-1', stuck && 'bg-warning-soft ring-1 ring-warning/40')}
                  data-testid="step-progress"
                  data-step={step.id}
                  data-passed={step.passed}
                >
                  <span
                    className={cn(
                      'flex size-6 items-center justify-center rounded-full text-xs font-semibold tabular-nums',
                      percent === 100 ? 'bg-success text-card' : 'border bg-card text-muted-foreground',
                    )}
                  >
                    {index + 1}
                  </span>
                  <span className="truncate text-sm" title={step.title}>
                    {step.title.replace(/`/g, '')}
                  </span>
                  <span
                    role="meter"
                    aria-label={`Step ${index + 1}: passed`}
                    aria-valuemin={0}
                    aria-valuemax={lesson.learners}
                    aria-valuenow={step.passed}
                    aria-valuetext={`${step.passed} of ${lesson.learners} passed${step.here.length ? `, ${step.here.length} working on it` : ''}`}
                    className="relative block h-3 overflow-hidden rounded-full bg-foreground/10"
                  >
                    <span className={cn('block h-full rounded-full transition-[width] duration-500', percent === 100 ? 'bg-success' : 'bg-accent')} style={{ width: `${percent}%` }} />
                  </span>
                  <span className="flex min-w-28 items-center justify-end gap-2 text-sm tabular-nums">
                    {step.here.length > 0 ? (
                      <span
                        className={cn('rounded-full px-2 py-0.5 text-xs font-semibold', stuck ? 'bg-warning text-card' : 'bg-muted text-foreground')}
                        title={step.here.join(', ')}
                      >
                        {step.here.length} here{stuck && step.here.length > 1 ? ' · stuck?' : ''}
                      </span>
                    ) : null}
                    <span className="font-medium">
                      {step.passed}/{lesson.learners}
                    </span>
                  </span>
                </li>
              );
            })}
          </ol>
        </section>
      ))}
    </div>
  );
}
