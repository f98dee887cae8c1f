'use client';

import dynamic from 'next/dynamic';
import { useConnectionStatus, useWorkspace } from '../lesson/workspace-context';
import type { ObserveView } from '../../protocol';

/**
 * The panels' code is a chunk of its own: the page hydrates and the terminal starts without
 * waiting for it (React hydrates the rest of the page while this part loads).
 */
const ObservePanel = dynamic(() => import('./observe-panel').then((module) => module.ObservePanel), {
  loading: () => <p className="px-3 py-2 text-sm text-muted-foreground">Loading the panels…</p>,
});

/** The observe panel on a lesson page, on the page's own sandbox connection. */
export function LessonObserve({ panel }: { panel?: ObserveView }) {
  const { connection } = useWorkspace();
  // Re-render on connection changes: a reconnect brings a new client, a restart a new sandbox.
  const status = useConnectionStatus(connection);
  // The panel subscribes once terminal 1 has its answer: the learner's first prompt comes first.
  const sandboxId = status.firstTerminalSettled ? connection?.sandboxId : undefined;
  return <ObservePanel client={connection?.labClient} sandboxId={sandboxId} defaultPanel={panel} collapsible={false} />;
}
