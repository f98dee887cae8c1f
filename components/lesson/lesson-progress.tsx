'use client';

import { useEffect, useState } from 'react';
import { lessonProgress, type LessonOutline } from '../progress/progress-store';
import { progressStore, useProgress } from '../progress/use-progress';
import { Button } from '../ui/button';
import { ProgressBar } from '../ui/progress-bar';
import { RotateCcwIcon } from '../ui/icons';
import { useWorkspace } from './workspace-context';

/** "3 of 6 steps done" with a bar, and the lesson's Reset. */
export function LessonProgressSummary({ outline }: { outline: LessonOutline }) {
  const progress = lessonProgress(useProgress(), outline);
  return (
    <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
      <div className="flex min-w-40 flex-1 items-center gap-3">
        <ProgressBar value={progress.done} max={progress.total} label="Steps done in this lesson" className="max-w-48" />
        <span className="text-sm whitespace-nowrap text-muted-foreground tabular-nums" data-testid="lesson-progress">
          {progress.done} of {progress.total} steps done
        </span>
      </div>
      <ResetLesson />
    </div>
  );
}

const CONFIRM_MS = 6000;

/** Forgets this lesson's progress and starts a fresh sandbox, after a confirmation. */
function ResetLesson() {
  const { slug, connection } = useWorkspace();
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (!confirming) return;
    const timer = setTimeout(() => setConfirming(false), CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [confirming]);

  if (!confirming) {
    return (
      <Button size="sm" variant="ghost" onClick={() => setConfirming(true)}>
        <RotateCcwIcon />
        Reset lesson
      </Button>
    );
  }
  return (
    <div role="group" aria-label="Confirm lesson reset" className="flex items-center gap-2 text-sm">
      <span className="text-muted-foreground">Clear your steps and start a fresh sandbox?</span>
      <Button
        size="sm"
        variant="danger"
        onClick={() => {
          progressStore.resetLesson(slug);
          connection?.restart();
          setConfirming(false);
        }}
      >
        Reset
      </Button>
      <Button size="sm" variant="ghost" onClick={() => setConfirming(false)}>
        Cancel
      </Button>
    </div>
  );
}
