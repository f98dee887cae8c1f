'use client';

import { useEffect, useState } from 'react';
import type { ClassPass, ClassState } from '../../protocol';
import { Button } from '../ui/button';
import { ConfirmButton } from '../ui/confirm-button';
import type { ClassConnection } from './class-connection';
import { passesCsv, passesOverTime, type PassTimeline } from './class-record';
import type { OutlineLesson } from './course-outline';

/**
 * The class record: every verified pass, exported as CSV, and per lesson a small chart of
 * passes over time; and "Clear class", which deletes every learner's record. The passes are
 * fetched again whenever the dashboard's pass count changes.
 */
export function ClassRecordPanel({ state, lessons, connection }: { state: ClassState; lessons: OutlineLesson[]; connection: ClassConnection }) {
  const [passes, setPasses] = useState<ClassPass[]>([]);
  const [error, setError] = useState<string>();
  const total = Object.values(state.stepPasses).reduce((sum, steps) => sum + Object.values(steps).reduce((a, b) => a + b, 0), 0);

  useEffect(() => {
    let current = true;
    connection
      .request('progress:passes', {})
      .then((fresh) => current && (setPasses(fresh), setError(undefined)))
      .catch((failure: Error) => current && setError(failure.message));
    return () => {
      current = false;
    };
  }, [connection, total]);

  const download = () => {
    const url = URL.createObjectURL(new Blob([passesCsv(passes)], { type: 'text/csv;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `isolab-progress-${new Date().toISOString().slice(0, 10)}.csv`;
    link.click();
    URL.revokeObjectURL(url);
  };
  const now = Date.now();
  const charts = lessons.map((lesson) => ({ lesson, timeline: passesOverTime(passes, lesson.slug, now) })).filter((entry) => entry.timeline);

  return (
    <div className="space-y-4 px-5 py-4" data-testid="class-record">
      <div className="flex flex-wrap items-center gap-3">
        <span className="text-sm text-muted-foreground" data-testid="record-count">
          {passes.length} pass{passes.length === 1 ? '' : 'es'} recorded
        </span>
        <Button size="sm" variant="secondary" onClick={download}>
          Export CSV
        </Button>
        <ConfirmButton
          size="sm"
          variant="ghost"
          groupLabel="Confirm clearing the class"
          question="Delete every learner’s name and passes from the record?"
          confirmLabel="Clear class"
          onConfirm={() => connection.request('progress:clear-class', {}).then(() => setPasses([]))}
        >
          Clear class
        </ConfirmButton>
        {error ? <span className="text-sm text-danger">{error}</span> : null}
      </div>
      {charts.length ? (
        <ul className="grid gap-3 sm:grid-cols-2">
          {charts.map(({ lesson, timeline }) => (
            <li key={lesson.slug} className="min-w-0">
              <p className="truncate text-sm font-medium">{lesson.title.replace(/`/g, '')}</p>
              <PassChart timeline={timeline!} />
            </li>
          ))}
        </ul>
      ) : (
        <p className="text-sm text-muted-foreground">Charts of passes over time show up here once learners pass checks.</p>
      )}
    </div>
  );
}

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** Passes per slice of time, as bars: when the class got through the lesson. */
function PassChart({ timeline }: { timeline: PassTimeline }) {
  const max = Math.max(1, ...timeline.counts);
  const total = timeline.counts.reduce((a, b) => a + b, 0);
  return (
    <figure className="mt-1">
      <svg viewBox={`0 0 ${timeline.counts.length * 4} 24`} className="h-10 w-full text-accent" preserveAspectRatio="none" role="img" aria-label={`${total} passes between ${time(timeline.from)} and ${time(timeline.to)}`}>
        {timeline.counts.map((count, index) => (
          <rect key={index} x={index * 4 + 0.5} width={3} y={24 - (count / max) * 24} height={(count / max) * 24} className="fill-current" />
        ))}
      </svg>
      <figcaption className="flex justify-between text-xs text-muted-foreground tabular-nums">
        <span>{time(timeline.from)}</span>
        <span>{total} passes</span>
        <span>{time(timeline.to)}</span>
      </figcaption>
    </figure>
  );
}
