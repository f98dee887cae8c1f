'use client';

import type { ReactNode } from 'react';
import { cn } from '../ui/cn';
import { BroadcastIcon, UsersIcon } from '../ui/icons';
import { ClassControls } from './class-controls';
import { ClassProgressPanel } from './class-progress-panel';
import { ClassRecordPanel } from './class-record-panel';
import type { OutlineLesson } from './course-outline';
import { DemoTerminalPanel } from './demo-terminal-panel';
import { useClassSnapshot, useInstructor } from './instructor-gate';
import { LearnerTable } from './learner-table';
import { PresentLesson } from './present-lesson';
import { SpotlightPanel } from './spotlight-panel';
import { useDemoConnection } from './use-demo-connection';

/**
 * The instructor's view of the class, live: who is here and how far they got, where the class
 * is stuck, the class controls, a learner's screen when spotlighted, and the instructor's own
 * terminal with its Broadcast toggle.
 */
export function ClassDashboard({ lessons }: { lessons: OutlineLesson[] }) {
  const { connection } = useInstructor();
  const snapshot = useClassSnapshot(connection);
  const demo = useDemoConnection();
  const state = snapshot.classState!;
  const online = state.learners.filter((learner) => learner.connected).length;
  const following = state.learners.filter((learner) => learner.connected && learner.following).length;
  const spotlight = snapshot.spotlight;
  const commonLesson = mostCommonLesson(state.learners.map((learner) => learner.lessonSlug));

  return (
    <main className="flex w-full flex-1 flex-col gap-5 px-4 py-5 sm:px-6 lg:py-6" data-testid="class-dashboard">
      <div className="flex flex-wrap items-end gap-x-6 gap-y-4">
        <div className="min-w-0">
          <h1 className="text-2xl font-semibold tracking-tight sm:text-3xl">Class dashboard</h1>
          <p className="mt-1 flex flex-wrap items-center gap-x-4 gap-y-1 text-sm text-muted-foreground" aria-live="polite">
            <span className="inline-flex items-center gap-1.5">
              <span aria-hidden className={cn('size-2 rounded-full', snapshot.state === 'live' ? 'bg-success' : 'animate-pulse bg-warning')} />
              {snapshot.state === 'live' ? 'Live' : 'Reconnecting…'}
            </span>
            <span className="inline-flex items-center gap-1.5" data-testid="online-count">
              <UsersIcon className="size-4" />
              {online} learner{online === 1 ? '' : 's'} online
            </span>
            {state.broadcast ? (
              <span className="inline-flex items-center gap-1.5 font-medium text-accent">
                <BroadcastIcon className="size-4" />
                Broadcasting · {following} following
              </span>
            ) : null}
            <span>
              {state.sandboxes.live} of {state.sandboxes.max} sandboxes in use
            </span>
          </p>
        </div>
        <div className="ml-auto flex flex-wrap items-center gap-3">
          <ClassControls state={state} connection={connection} />
          <PresentLesson lessons={lessons} initial={commonLesson} />
        </div>
      </div>

      {snapshot.state !== 'live' ? (
        <p role="status" className="rounded-lg border border-warning/40 bg-warning-soft px-4 py-2 text-sm">
          {snapshot.message} The dashboard shows the last known state until the connection is back.
        </p>
      ) : null}

      {spotlight ? (
        // Full width: a learner's screen is as wide as theirs, and the class may be watching too.
        <SpotlightPanel
          connection={connection}
          sessionId={spotlight.sessionId}
          learner={state.learners.find((learner) => learner.sessionId === spotlight.sessionId)}
          error={spotlight.error}
          lessons={lessons}
          className="max-h-[min(70vh,46rem)]"
        />
      ) : null}

      <div className="grid min-h-0 flex-1 gap-5 xl:grid-cols-[minmax(0,1.7fr)_minmax(24rem,1fr)]">
        <div className="flex min-w-0 flex-col gap-5">
          <Card title="Learners" aside={`${state.learners.length} in total`}>
            <LearnerTable learners={state.learners} lessons={lessons} connection={connection} spotlightId={spotlight?.sessionId} />
          </Card>
          <Card title="Where the class is" aside="passed per step · who is working on it">
            <ClassProgressPanel state={state} lessons={lessons} />
          </Card>
          <Card title="Class record" aside="passes lab-server verified · kept across restarts">
            <ClassRecordPanel state={state} lessons={lessons} connection={connection} />
          </Card>
        </div>
        {/* Not taller than a follower's view can show at a readable size: its rows are what they get. */}
        <div className="flex h-[34rem] min-w-0 flex-col gap-5 xl:sticky xl:top-20 xl:h-[min(calc(100dvh-7rem),38rem)]">
          <DemoTerminalPanel connection={demo} className="min-h-64 flex-1" />
        </div>
      </div>
    </main>
  );
}

function Card({ title, aside, children }: { title: string; aside?: string; children: ReactNode }) {
  const id = `card-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <section aria-labelledby={id} className="overflow-hidden rounded-xl border bg-card shadow-xs">
      <header className="flex items-baseline gap-3 border-b px-5 py-3">
        <h2 id={id} className="font-semibold tracking-tight">
          {title}
        </h2>
        {aside ? <span className="text-sm text-muted-foreground">{aside}</span> : null}
      </header>
      {children}
    </section>
  );
}

function mostCommonLesson(slugs: Array<string | null>): string | undefined {
  const counts = new Map<string, number>();
  for (const slug of slugs) if (slug) counts.set(slug, (counts.get(slug) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}
