'use client';

import { useEffect, useState } from 'react';
import { Button } from '../ui/button';
import { RefreshIcon, RotateCcwIcon } from '../ui/icons';
import type { ConnectionStatus, SandboxConnection } from '../connection/sandbox-connection';

/**
 * What covers the terminals when they are not live, so a learner never wonders whether anything
 * is happening: starting, reconnecting (with the countdown), ended, or failed, each with the one
 * action that helps.
 */
export function ConnectionOverlay({ connection, status }: { connection: SandboxConnection | null; status: ConnectionStatus }) {
  const seconds = useSecondsUntil(status.retryAt);

  if (status.state === 'live') return null;

  if (status.state === 'connecting') {
    return (
      <div className="absolute inset-3 flex items-center justify-center rounded-lg bg-terminal/85 backdrop-blur-[1px]" data-testid="terminal-overlay" data-state="connecting">
        <div className="flex items-center gap-3 rounded-full border bg-card px-4 py-2 text-sm shadow-sm">
          <Spinner />
          {status.message}
        </div>
      </div>
    );
  }

  if (status.state === 'reconnecting') {
    return (
      <div className="absolute inset-x-3 top-3 z-10 flex flex-wrap items-center gap-3 rounded-lg border border-warning/40 bg-warning-soft px-4 py-2.5 text-sm shadow-sm" data-testid="terminal-overlay" data-state="reconnecting">
        <Spinner />
        <span className="min-w-0 flex-1">
          <strong className="font-semibold">Connection lost. </strong>
          Your sandbox keeps running; its screen comes back when the connection does.
          {seconds !== undefined ? <span className="text-muted-foreground"> Next try in {seconds} s.</span> : null}
        </span>
        <Button size="sm" onClick={() => connection?.retry()}>
          <RefreshIcon />
          Reconnect now
        </Button>
      </div>
    );
  }

  const ended = status.state === 'ended';
  return (
    <div className="absolute inset-3 z-10 flex items-center justify-center rounded-lg bg-background/70 p-4 backdrop-blur-[2px]" data-testid="terminal-overlay" data-state={status.state}>
      <div role="alert" className="w-full max-w-md rounded-xl border bg-card p-5 shadow-lg">
        <h2 className="text-base font-semibold">{ended ? 'This sandbox has ended' : status.errorCode === 'LAB_CLOSED' ? 'The lab is closed right now' : 'The terminal cannot connect'}</h2>
        <p className="mt-1.5 text-sm text-muted-foreground">{status.message}</p>
        {!ended && seconds !== undefined ? <p className="mt-1 text-xs text-muted-foreground">Trying again in {seconds} s.</p> : null}
        <div className="mt-4 flex flex-wrap gap-2">
          {ended ? (
            <Button variant="primary" onClick={() => connection?.restart()}>
              <RotateCcwIcon />
              Restart sandbox
            </Button>
          ) : (
            <>
              <Button variant="primary" onClick={() => connection?.retry()}>
                <RefreshIcon />
                Try again
              </Button>
              <Button onClick={() => connection?.restart()}>
                <RotateCcwIcon />
                Restart sandbox
              </Button>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function Spinner() {
  return <span aria-hidden className="size-4 animate-spin rounded-full border-2 border-current border-t-transparent text-accent" />;
}

/** Whole seconds until `at`, ticking; undefined when nothing is scheduled. */
function useSecondsUntil(at: number | undefined): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (at === undefined) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [at]);
  return at === undefined ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
