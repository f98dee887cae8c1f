'use client';

import { useCallback, useState } from 'react';
import type { LearnerSummary } from '../../protocol';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { EyeIcon, XIcon } from '../ui/icons';
import type { ClassConnection } from './class-connection';
import type { OutlineLesson } from './course-outline';
import type { MirrorTarget } from './mirror-channel';
import { MirrorView } from './mirror-view';

export interface SpotlightPanelProps {
  connection: ClassConnection;
  learner: LearnerSummary | undefined;
  sessionId: string;
  error?: string;
  lessons: OutlineLesson[];
  className?: string;
}

/** A learner's terminal, read-only, while the instructor spotlights them (they see a badge). */
export function SpotlightPanel({ connection, learner, sessionId, error, lessons, className }: SpotlightPanelProps) {
  const register = useCallback((view: MirrorTarget) => connection.registerSpotlightView(view), [connection]);
  // As tall as the learner's screen needs at a readable size, and no taller: a short terminal
  // leaves the dashboard below in view.
  const [rows, setRows] = useState(24);
  const onGeometry = useCallback((_cols: number, screenRows: number) => setRows(screenRows), []);
  const name = learner?.displayName ?? 'this learner';
  const lesson = lessons.find((candidate) => candidate.slug === learner?.lessonSlug);
  return (
    <section
      aria-label={`${name}’s terminal (read-only)`}
      className={cn('flex min-h-0 flex-col overflow-hidden rounded-xl border-2 border-warning bg-card shadow-md', className)}
      data-testid="spotlight-panel"
      data-session={sessionId}
      onKeyDown={(event) => {
        if (event.key === 'Escape') connection.endSpotlight();
      }}
    >
      <header className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b bg-warning-soft px-4 py-2.5">
        <span className="flex size-7 items-center justify-center rounded-full bg-warning text-card">
          <EyeIcon className="size-4" />
        </span>
        <h2 className="font-semibold tracking-tight">
          Viewing <span data-testid="spotlight-name">{name}</span>’s terminal
        </h2>
        <span className="text-sm text-muted-foreground">
          read-only{lesson ? ` · ${lesson.order}. ${lesson.title.replace(/`/g, '')}` : ''} · they see that you are looking
        </span>
        <Button size="sm" variant="secondary" className="ml-auto" onClick={() => connection.endSpotlight()}>
          <XIcon />
          Stop viewing
        </Button>
      </header>
      <div className="flex min-h-48 shrink flex-col bg-muted/40 p-3" style={{ flexBasis: `calc(${rows} * 2rem + 2.5rem)` }}>
        {error ? (
          <p role="alert" className="mb-2 rounded-md border border-danger/30 bg-danger-soft px-3 py-2 text-sm">
            {error}
          </p>
        ) : null}
        <MirrorView
          register={register}
          name="spotlight"
          label={`${name}’s terminal (read-only)`}
          maxFontSize={26}
          waitingText={`Opening ${name}’s terminal…`}
          onGeometry={onGeometry}
        />
      </div>
    </section>
  );
}
