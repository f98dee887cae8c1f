'use client';

import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { BroadcastIcon } from '../ui/icons';
import { useLearnerClass } from './learner-class-context';

/**
 * "Follow instructor": there only while the instructor broadcasts. Pressed, the instructor's
 * terminal takes the place of the learner's own; pressed again, the learner is back.
 */
export function FollowToggle({ className }: { className?: string }) {
  const { classroom, snapshot } = useLearnerClass();
  if (!classroom || (!snapshot.broadcastLive && !snapshot.following)) return null;
  const { following } = snapshot;
  return (
    <Button
      size="sm"
      variant={following ? 'soft' : 'primary'}
      aria-pressed={following}
      onClick={() => (following ? classroom.unfollow() : classroom.follow())}
      title={following ? 'Go back to your own terminal' : 'Watch the instructor’s terminal live (read-only)'}
      className={cn('gap-2', className)}
      data-testid="follow-toggle"
    >
      <span className="relative flex size-2" aria-hidden>
        <span className="absolute inline-flex size-full animate-ping rounded-full bg-current opacity-60" />
        <span className="relative inline-flex size-2 rounded-full bg-current" />
      </span>
      {following ? 'Following instructor' : 'Follow instructor'}
      <BroadcastIcon className="hidden sm:block" />
    </Button>
  );
}
