'use client';

import { useState } from 'react';
import { useConnectionStatus, useWorkspace } from '../lesson/workspace-context';
import { Button } from '../ui/button';
import { copyText } from '../ui/clipboard';
import { ConfirmButton } from '../ui/confirm-button';
import { progressStore } from './use-progress';

/**
 * "Continue elsewhere": the learner's resume code and link, to carry their recorded progress to
 * another browser; and "Clear my record", which deletes their name and passes from the lab.
 */
export function ResumeElsewhere() {
  const { connection } = useWorkspace();
  const live = useConnectionStatus(connection).state === 'live';
  const [code, setCode] = useState<string>();
  const [note, setNote] = useState<string>();

  const ask = async (run: () => Promise<void>) => {
    setNote(undefined);
    try {
      await run();
    } catch (error) {
      setNote((error as Error).message);
    }
  };
  const client = () => {
    const current = connection?.labClient;
    if (!current) throw new Error('The lab is not connected right now; try again once the terminal is live.');
    return current;
  };
  const link = code ? `${window.location.origin}/resume?code=${code}` : '';

  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="resume-elsewhere">
      {code ? (
        <>
          <span className="text-muted-foreground">Resume code</span>
          <code className="rounded border bg-code px-2 py-0.5 font-mono tracking-widest text-code-foreground" data-testid="resume-code">
            {code}
          </code>
          <Button size="sm" variant="ghost" onClick={() => void copyText(link).then((copied) => setNote(copied ? 'Link copied: open it in the other browser.' : link))}>
            Copy link
          </Button>
          <ConfirmButton
            size="sm"
            variant="ghost"
            groupLabel="Confirm clearing your record"
            question="Delete your name and passed steps from this lab?"
            confirmLabel="Clear"
            onConfirm={() =>
              ask(async () => {
                await client().request('progress:forget-me', {});
                progressStore.adoptVerified([]);
                setCode(undefined);
                setNote('Your record is cleared: the lab keeps nothing of you now.');
              })
            }
          >
            Clear my record
          </ConfirmButton>
        </>
      ) : (
        <Button size="sm" variant="ghost" disabled={!live} onClick={() => void ask(async () => setCode((await client().request('progress:resume-code', {})).code))}>
          Continue elsewhere
        </Button>
      )}
      {note ? (
        <span className="text-muted-foreground" role="status">
          {note}
        </span>
      ) : null}
    </div>
  );
}
