'use client';

import { useMemo } from 'react';
import { useConnectionStatus, WorkspaceContext, type Workspace } from '../lesson/workspace-context';
import { ConnectionOverlay } from '../terminal/connection-overlay';
import { RestartButton } from '../terminal/restart-button';
import type { SandboxConnection } from '../connection/sandbox-connection';
import { StatusBadge } from '../terminal/status-badge';
import { TerminalView } from '../terminal/terminal-view';
import { cn } from '../ui/cn';
import { BroadcastToggle } from './broadcast-toggle';
import { DEMO_SANDBOX_KEY } from './use-demo-connection';

/** The instructor's own terminal on the dashboard, with the Broadcast toggle. */
export function DemoTerminalPanel({ connection, className }: { connection: SandboxConnection | null; className?: string }) {
  const status = useConnectionStatus(connection);
  const workspace = useMemo<Workspace>(() => ({ slug: DEMO_SANDBOX_KEY, terminals: 1, connection }), [connection]);
  return (
    <section aria-labelledby="demo-terminal-title" className={cn('flex min-h-0 flex-col overflow-hidden rounded-xl border bg-card shadow-xs', className)}>
      <header className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b px-4 py-2.5">
        <h2 id="demo-terminal-title" className="font-semibold tracking-tight">
          Your terminal
        </h2>
        <StatusBadge state={status.state} />
        {status.sandbox ? <span className="truncate font-mono text-xs text-muted-foreground">{status.sandbox.hostname}</span> : null}
        <div className="ml-auto flex items-center gap-2">
          <BroadcastToggle connection={connection} />
          <RestartButton connection={connection} state={status.state} />
        </div>
      </header>
      <WorkspaceContext value={workspace}>
        <div className="relative flex min-h-0 flex-1 flex-col bg-muted/40 p-3">
          <TerminalView connection={connection} slot={0} label="Your demo terminal" visible connectionLive={status.state === 'live'} />
          <ConnectionOverlay connection={connection} status={status} />
        </div>
      </WorkspaceContext>
    </section>
  );
}
