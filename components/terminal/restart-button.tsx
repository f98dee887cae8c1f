'use client';

import type { ConnectionState, SandboxConnection } from '../connection/sandbox-connection';
import { ConfirmButton } from '../ui/confirm-button';
import { RotateCcwIcon } from '../ui/icons';

/**
 * "Restart sandbox" in the toolbar. A live sandbox holds the learner's work, so the first press
 * only asks; an ended or failed one restarts at once.
 */
export function RestartButton({ connection, state }: { connection: SandboxConnection | null; state: ConnectionState }) {
  return (
    <ConfirmButton
      variant="ghost"
      ask={state === 'live' || state === 'reconnecting'}
      groupLabel="Confirm sandbox restart"
      question="Throw this sandbox away?"
      confirmLabel="Restart"
      onConfirm={() => connection?.restart()}
      disabled={!connection || state === 'connecting'}
      title="Throw this sandbox away and start a fresh one"
    >
      <RotateCcwIcon />
      Restart sandbox
    </ConfirmButton>
  );
}
