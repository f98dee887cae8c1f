'use client';

import { useState } from 'react';
import type { WarmPoolState } from '../../protocol';
import { Button } from '../ui/button';
import { ProgressBar } from '../ui/progress-bar';
import type { ClassConnection } from './class-connection';

/**
 * "Get ready for N learners": the lab starts that many sandboxes before the class opens the
 * lesson (within its limits), so that every learner's terminal is there at once. Shows how many
 * are ready while the class has not claimed them yet.
 */
export function WarmUpControl({ warmPool, suggested, max, connection }: { warmPool: WarmPoolState; suggested: number; max: number; connection: ClassConnection }) {
  const [learners, setLearners] = useState(() => Math.min(max, suggested > 0 ? suggested : 30));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const ask = async (count: number) => {
    setBusy(true);
    setError(undefined);
    try {
      await connection.request('class:warm-up', { learners: count });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const ready = Math.min(warmPool.ready, warmPool.reserved);
  return (
    <span className="inline-flex flex-wrap items-center gap-2" data-testid="warm-up">
      <input
        type="number"
        min={1}
        max={max}
        value={learners}
        onChange={(event) => setLearners(Math.max(1, Math.min(max, Number(event.target.value) || 1)))}
        aria-label="How many learners to get ready for"
        className="h-9 w-16 rounded-md border bg-card px-2 text-sm tabular-nums"
      />
      <Button size="md" disabled={busy} onClick={() => void ask(learners)} data-testid="warm-up-button" title="Starts sandboxes now, so that each learner gets a terminal at once when the class opens the lesson.">
        Get ready for {learners} learners
      </Button>
      {warmPool.reserved > 0 ? (
        <span className="inline-flex min-w-44 flex-col gap-1 text-xs text-muted-foreground" data-testid="warm-up-progress">
          <span>
            {ready} of {warmPool.reserved} sandboxes ready
            <button type="button" className="ml-2 underline" onClick={() => void ask(0)}>
              cancel
            </button>
          </span>
          <ProgressBar value={ready} max={warmPool.reserved} label="Sandboxes ready for the class" />
        </span>
      ) : null}
      {error ? (
        <span role="alert" className="text-sm text-danger">
          {error}
        </span>
      ) : null}
    </span>
  );
}
