'use client';

import { lessonProgress, type LessonOutline } from '../progress/progress-store';
import { useProgress } from '../progress/use-progress';
import { cn } from '../ui/cn';
import { CheckIcon } from '../ui/icons';
import { ProgressBar } from '../ui/progress-bar';

/** A lesson's progress on the course map: "2/5" and a bar, or "Done". */
export function LessonCardProgress({ outline, title }: { outline: LessonOutline; title: string }) {
  const progress = lessonProgress(useProgress(), outline);
  return (
    <div className="flex items-center gap-3" data-testid={`progress-${outline.slug}`} data-done={progress.done} data-total={progress.total}>
      <ProgressBar value={progress.done} max={progress.total} label={`Progress in ${title}`} className="w-24" />
      <span className={cn('text-xs whitespace-nowrap tabular-nums', progress.complete ? 'font-medium text-success' : 'text-muted-foreground')}>
        {progress.complete ? (
          <span className="inline-flex items-center gap-1">
            <CheckIcon className="size-3.5" /> Done
          </span>
        ) : (
          `${progress.done}/${progress.total} steps`
        )}
      </span>
    </div>
  );
}
