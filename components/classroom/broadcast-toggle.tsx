'use client';

import { useEffect, useState } from 'react';
import { useConnectionStatus } from '../lesson/workspace-context';
import type { SandboxConnection } from '../connection/sandbox-connection';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { BroadcastIcon } from '../ui/icons';
import { useClassSnapshot, useInstructor } from './instructor-gate';

export interface BroadcastToggleProps {
  /** The instructor's demo sandbox. */
  connection: SandboxConnection | null;
  /** Which of its terminals to broadcast. */
  slot?: number;
  size?: 'sm' | 'md' | 'lg';
  className?: string;
}

/**
 * Broadcast on/off for one of the instructor's terminals: learners who press "Follow
 * instructor" see it live, read-only. The request goes out on the demo sandbox's own socket,
 * the one that owns the terminal; the class state (pushed about once a second) confirms it.
 */
export function BroadcastToggle({ connection, slot = 0, size = 'md', className }: BroadcastToggleProps) {
  const { connection: classConnection } = useInstructor();
  const { classState } = useClassSnapshot(classConnection);
  const status = useConnectionStatus(connection);
  const [wanted, setWanted] = useState<boolean>();
  const [error, setError] = useState<string>();
  const terminalId = connection?.terminalIdOf(slot);
  const broadcastId = classState?.broadcast?.terminalId;
  const on = Boolean(terminalId && broadcastId === terminalId);
  const shown = wanted ?? on;
  const followers = classState?.learners.filter((learner) => learner.following && learner.connected).length ?? 0;

  // The class state caught up with what was asked.
  useEffect(() => setWanted(undefined), [broadcastId]);

  const toggle = async () => {
    const client = connection?.labClient;
    if (!client || !terminalId) return;
    const next = !shown;
    setWanted(next);
    setError(undefined);
    try {
      await client.request('class:broadcast', { terminalId: next ? terminalId : null });
    } catch (failure) {
      setWanted(undefined);
      setError((failure as Error).message);
    }
  };

  return (
    <div className={cn('flex items-center gap-2', className)}>
      <Button
        size={size}
        variant={shown ? 'primary' : 'secondary'}
        aria-pressed={shown}
        disabled={status.state !== 'live' || !terminalId}
        onClick={toggle}
        title={shown ? 'Stop broadcasting this terminal' : 'Let learners follow this terminal live, read-only'}
        className={cn(shown && 'shadow-[0_0_0_3px] shadow-accent/25')}
        data-testid="broadcast-toggle"
      >
        <BroadcastIcon />
        {shown ? 'Broadcasting' : 'Broadcast'}
      </Button>
      {shown ? (
        <span className="text-sm whitespace-nowrap text-muted-foreground tabular-nums" aria-live="polite" data-testid="follower-count">
          {followers} following
        </span>
      ) : null}
      {error ? (
        <span role="alert" className="text-sm text-danger">
          {error}
        </span>
      ) : null}
    </div>
  );
}
