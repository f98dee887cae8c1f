'use client';

import { isStepDone } from '../progress/progress-store';
import { progressStore, useProgress } from '../progress/use-progress';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { CheckIcon } from '../ui/icons';
import { useWorkspace } from './workspace-context';

/** The step's number, turning into a check mark once the step is done. */
export function StepMarker({ stepId, number }: { stepId: string; number: number }) {
  const { slug } = useWorkspace();
  const done = isStepDone(useProgress(), slug, stepId);
  return (
    <span
      className={cn(
        'flex size-7 shrink-0 items-center justify-center rounded-full border text-sm font-semibold tabular-nums transition-colors',
        done ? 'border-success bg-success text-card' : 'bg-card text-muted-foreground',
      )}
      data-done={done}
    >
      {done ? <CheckIcon className="size-4" aria-label={`Step ${number}, done`} /> : <span aria-label={`Step ${number}`}>{number}</span>}
    </span>
  );
}

/** For a step without a check: the learner says when they are done (kept in this browser only; nothing to verify). */
export function MarkStepDone({ stepId }: { stepId: string }) {
  const { slug } = useWorkspace();
  const done = isStepDone(useProgress(), slug, stepId);
  return (
    <div className="flex items-center gap-3 rounded-lg border border-dashed px-3.5 py-2.5 text-sm text-muted-foreground">
      <Button
        size="sm"
        variant={done ? 'soft' : 'secondary'}
        aria-pressed={done}
        onClick={() => progressStore.setMarked(slug, stepId, !done)}
      >
        <CheckIcon />
        {done ? 'Done' : 'Mark as done'}
      </Button>
      <span>{done ? 'Marked as done.' : 'This step has no check; mark it when you have tried it.'}</span>
    </div>
  );
}
