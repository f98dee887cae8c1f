'use client';

import { lessonProgress, type LessonOutline } from '../progress/progress-store';
import { ResumeElsewhere } from '../progress/resume-elsewhere';
import { progressStore, useProgress } from '../progress/use-progress';
import { ConfirmButton } from '../ui/confirm-button';
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
      <ResumeElsewhere />
    </div>
  );
}

/** Starts a fresh sandbox and forgets the steps marked by hand, after a confirmation; passed checks stay recorded. */
function ResetLesson() {
  const { slug, connection } = useWorkspace();
  return (
    <ConfirmButton
      variant="ghost"
      groupLabel="Confirm lesson reset"
      question="Start a fresh sandbox and clear your marks? Passed checks stay."
      confirmLabel="Reset"
      onConfirm={() => {
        progressStore.resetLesson(slug);
        connection?.restart();
      }}
    >
      <RotateCcwIcon />
      Reset lesson
    </ConfirmButton>
  );
}
