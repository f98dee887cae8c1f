'use client';

import { useEffect, useState } from 'react';
import type { ClassState } from '../../protocol';
import { cn } from '../ui/cn';
import { PowerIcon } from '../ui/icons';
import type { ClassConnection } from './class-connection';
import { ConfirmButton } from './confirm-button';
import { WarmUpControl } from './warm-up-control';

/** Open or close the lab to new sandboxes, get ready for a class, and end every learner's sandbox. */
export function ClassControls({ state, connection }: { state: ClassState; connection: ClassConnection }) {
  const learnerSandboxes = state.learners.filter((learner) => learner.sandbox).length;
  return (
    <div className="flex flex-wrap items-center gap-3">
      <LabOpenSwitch open={state.labOpen} connection={connection} />
      <WarmUpControl warmPool={state.warmPool} suggested={state.learners.filter((learner) => learner.connected).length} max={state.sandboxes.max} connection={connection} />
      <ConfirmButton
        size="md"
        question={<>End every learner’s sandbox{learnerSandboxes ? ` (${learnerSandboxes})` : ''}?</>}
        confirmLabel="End all"
        title="Closes every learner’s sandbox; your own demo keeps running. Learners can start fresh ones while the lab is open."
        onConfirm={() => connection.request('class:end-all', {})}
      >
        <PowerIcon />
        End all sandboxes
      </ConfirmButton>
    </div>
  );
}

/** A switch: checked means learners may start new sandboxes. Closing keeps the running ones. */
function LabOpenSwitch({ open, connection }: { open: boolean; connection: ClassConnection }) {
  const [pending, setPending] = useState<boolean>();
  const [error, setError] = useState<string>();
  const shown = pending ?? open;
  // Shows the choice at once; the pushed class state confirms it within a second.
  useEffect(() => {
    if (pending === open) setPending(undefined);
  }, [pending, open]);

  const toggle = async () => {
    const next = !shown;
    setPending(next);
    setError(undefined);
    try {
      await connection.request('class:set-open', { open: next });
    } catch (failure) {
      setPending(undefined);
      setError((failure as Error).message);
    }
  };

  return (
    <span className="inline-flex items-center gap-2.5">
      <button
        type="button"
        role="switch"
        aria-checked={shown}
        onClick={toggle}
        data-testid="lab-open-switch"
        title={shown ? 'Learners can start sandboxes. Click to close the lab to new ones.' : 'The lab is closed to new sandboxes. Click to open it.'}
        className={cn(
          'inline-flex h-9 items-center gap-2.5 rounded-md border px-3 text-sm font-medium shadow-xs transition-colors',
          shown ? 'border-success/40 bg-success-soft text-success' : 'border-danger/40 bg-danger-soft text-danger',
        )}
      >
        <span aria-hidden className={cn('relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors', shown ? 'bg-success' : 'bg-danger/70')}>
          <span className={cn('inline-block size-4 rounded-full bg-card shadow transition-transform', shown ? 'translate-x-4.5' : 'translate-x-0.5')} />
        </span>
        {shown ? 'Lab open' : 'Lab closed'}
        <span className="sr-only"> to new learners</span>
      </button>
      {error ? (
        <span role="alert" className="text-sm text-danger">
          {error}
        </span>
      ) : null}
    </span>
  );
}
