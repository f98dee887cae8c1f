'use client';

import { useCallback } from 'react';
import { Button } from '../ui/button';
import { ArrowLeftIcon, BroadcastIcon } from '../ui/icons';
import { useLearnerClass } from './learner-class-context';
import type { MirrorTarget } from './mirror-channel';
import { MirrorView } from './mirror-view';

/**
 * The instructor's terminal, shown in place of the learner's own while they follow. Their own
 * terminals stay attached underneath, so switching back is instant and loses nothing.
 */
export function FollowView() {
  const { classroom, snapshot } = useLearnerClass();
  const register = useCallback((view: MirrorTarget) => classroom?.registerMirror(view) ?? (() => undefined), [classroom]);
  if (!classroom || !snapshot.following) return null;
  return (
    <section aria-label="The instructor’s terminal" className="absolute inset-3 z-20 flex flex-col gap-2 rounded-xl bg-muted p-2 ring-2 ring-accent" data-testid="follow-view">
      <header className="flex flex-wrap items-center gap-x-3 gap-y-1 px-1">
        <span className="inline-flex items-center gap-2 rounded-full bg-accent px-2.5 py-1 text-xs font-semibold text-accent-foreground">
          <BroadcastIcon className="size-3.5" />
          Live from the instructor
        </span>
        <span className="text-xs text-muted-foreground">Read-only: watch here, try it in your own terminal.</span>
        <Button size="sm" variant="secondary" className="ml-auto" onClick={() => classroom.unfollow()}>
          <ArrowLeftIcon />
          Back to my terminal
        </Button>
      </header>
      {snapshot.followError ? (
        <p role="alert" className="rounded-md border border-danger/30 bg-danger-soft px-3 py-2 text-sm">
          {snapshot.followError}
        </p>
      ) : null}
      <MirrorView register={register} name="follow" label="The instructor’s terminal (read-only)" maxFontSize={22} waitingText="Joining the broadcast…" />
    </section>
  );
}
