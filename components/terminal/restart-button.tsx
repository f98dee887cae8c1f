'use client';

import { useEffect, useState } from 'react';
import { Button } from '../ui/button';
import { RotateCcwIcon } from '../ui/icons';
import type { ConnectionState, SandboxConnection } from './sandbox-connection';

const CONFIRM_MS = 4000;

/**
 * "Restart sandbox" in the toolbar. A live sandbox holds the learner's work, so the first press
 * only asks; a second press within a few seconds restarts. An ended or failed one restarts at once.
 */
export function RestartButton({ connection, state }: { connection: SandboxConnection | null; state: ConnectionState }) {
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (!confirming) return;
    const timer = setTimeout(() => setConfirming(false), CONFIRM_MS);
    return () => clearTimeout(timer);
  }, [confirming]);

  const needsConfirmation = state === 'live' || state === 'reconnecting';
  const onClick = () => {
    if (needsConfirmation && !confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    connection?.restart();
  };

  return (
    <Button
      size="sm"
      variant={confirming ? 'danger' : 'ghost'}
      onClick={onClick}
      disabled={!connection || state === 'connecting'}
      title="Throw this sandbox away and start a fresh one"
      aria-live="polite"
    >
      <RotateCcwIcon />
      {confirming ? 'Click again to restart' : 'Restart sandbox'}
    </Button>
  );
}
