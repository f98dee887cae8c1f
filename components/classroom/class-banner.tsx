'use client';

import { Button } from '../ui/button';
import { EyeIcon, XIcon } from '../ui/icons';
import { useLearnerClass } from './learner-class-context';

/**
 * What the learner sees above their terminals while the classroom wants their attention: an
 * unmissable badge while the instructor views their terminal, and short notes such as "the
 * broadcast ended".
 */
export function ClassBanner() {
  const { classroom, snapshot } = useLearnerClass();
  if (!classroom) return null;
  return (
    <>
      {snapshot.spotlighted ? (
        <div
          role="status"
          aria-live="assertive"
          data-testid="spotlight-badge"
          className="flex items-center gap-3 rounded-lg border-2 border-warning bg-warning-soft px-4 py-2.5 text-sm font-semibold text-foreground shadow-sm"
        >
          <span className="relative flex size-7 shrink-0 items-center justify-center rounded-full bg-warning text-card">
            <EyeIcon className="size-4" />
          </span>
          <span className="min-w-0 flex-1">
            The instructor is viewing your terminal
            <span className="block text-xs font-normal text-muted-foreground">They can see your screen, read-only; they cannot type into it.</span>
          </span>
        </div>
      ) : null}
      {snapshot.notice ? (
        <div role="status" className="flex items-center gap-3 rounded-lg border bg-card px-4 py-2 text-sm shadow-xs" data-testid="class-notice">
          <span className="min-w-0 flex-1">{snapshot.notice}</span>
          <Button size="icon" variant="ghost" className="size-7" aria-label="Dismiss" onClick={() => classroom.dismissNotice()}>
            <XIcon />
          </Button>
        </div>
      ) : null}
    </>
  );
}
