'use client';

import { useEffect, useState } from 'react';
import type { ClassState } from '../../protocol';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { PowerIcon } from '../ui/icons';
import type { ClassConnection } from './class-connection';
import { ConfirmButton } from '../ui/confirm-button';
import { WarmUpControl } from './warm-up-control';

/** Open or close the lab to new sandboxes, get ready for a class, end every learner's sandbox, and set the class code. */
export function ClassControls({ state, connection }: { state: ClassState; connection: ClassConnection }) {
  const learnerSandboxes = state.learners.filter((learner) => learner.sandbox).length;
  return (
    <div className="flex flex-wrap items-center gap-3">
      <ClassCodeControl classCode={state.classCode ?? { code: null, oldSessions: 0 }} connection={connection} />
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

/** Letters and digits that cannot be mistaken for one another when read off a projector. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

function generateCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (byte) => CODE_ALPHABET[byte % CODE_ALPHABET.length]).join('');
}

/**
 * The class code: new learners need it (they enter it once, or open the join link). Changing it
 * keeps the learners already in; those who joined without the current code can be ended here.
 */
function ClassCodeControl({ classCode, connection }: { classCode: NonNullable<ClassState['classCode']>; connection: ClassConnection }) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string>();
  const setCode = async (code: string | null) => {
    setError(undefined);
    try {
      await connection.request('class:set-code', { code });
      setDraft('');
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const joinLink = classCode.code && typeof window !== 'undefined' ? `${window.location.origin}/join?code=${classCode.code}` : undefined;

  return (
    <div className="flex flex-wrap items-center gap-2 rounded-md border px-3 py-1.5 text-sm" data-testid="class-code">
      <span>
        {classCode.code ? (
          <>
            Class code <strong className="font-mono tracking-widest" data-testid="class-code-value">{classCode.code}</strong>
          </>
        ) : (
          <span className="text-muted-foreground">No class code: anyone with the address can join</span>
        )}
      </span>
      {joinLink ? (
        <Button size="sm" variant="ghost" title={joinLink} onClick={() => void navigator.clipboard?.writeText(joinLink)}>
          Copy join link
        </Button>
      ) : null}
      <form
        className="flex items-center gap-1.5"
        onSubmit={(event) => {
          event.preventDefault();
          if (draft.trim()) void setCode(draft.trim());
        }}
      >
        <input
          aria-label="New class code"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          placeholder="new code"
          maxLength={64}
          className="h-8 w-28 rounded-md border bg-card px-2 font-mono uppercase"
        />
        <Button size="sm" type="submit" disabled={!draft.trim()}>
          Set code
        </Button>
        <Button size="sm" variant="ghost" onClick={() => void setCode(generateCode())}>
          Generate
        </Button>
        {classCode.code ? (
          <Button size="sm" variant="ghost" onClick={() => void setCode(null)}>
            Remove
          </Button>
        ) : null}
      </form>
      {classCode.oldSessions > 0 ? (
        <ConfirmButton
          size="sm"
          question={<>End the {classCode.oldSessions} session(s) that joined without the current code?</>}
          confirmLabel="End them"
          title="Closes their sandboxes and connections; to come back they need the current code."
          onConfirm={() => connection.request('class:end-old-code', {})}
        >
          {classCode.oldSessions} joined with an old code
        </ConfirmButton>
      ) : null}
      {error ? (
        <span role="alert" className="text-danger">
          {error}
        </span>
      ) : null}
    </div>
  );
}
