'use client';

import dynamic from 'next/dynamic';
import { useConnectionStatus, useFirstTerminalOnScreen, useWorkspace } from '../lesson/workspace-context';
import type { ObserveView } from '../../protocol';

function PanelsLoading() {
  return <p className="px-3 py-2 text-sm text-muted-foreground">Loading the panels…</p>;
}

/**
 * The panels' code is a chunk of its own that the page's HTML does not list: it loads once
 * terminal 1 is on screen, so the learner's first prompt shares neither the network nor the main
 * thread with it.
 */
const ObservePanel = dynamic(() => import('./observe-panel').then((module) => module.ObservePanel), { ssr: false, loading: PanelsLoading });

/** The observe panel on a lesson page, on the page's own sandbox connection. */
export function LessonObserve({ panel }: { panel?: ObserveView }) {
  const { connection } = useWorkspace();
  // Re-render on connection changes: a reconnect brings a new client, a restart a new sandbox.
  const status = useConnectionStatus(connection);
  // The panel appears once terminal 1 has drawn its prompt and stays through reconnects; only
  // its subscription waits, each time, until terminal 1 is back.
  const shown = useFirstTerminalOnScreen(connection);
  if (!shown) return <PanelsLoading />;
  const sandboxId = status.firstTerminalSettled ? connection?.sandboxId : undefined;
  return <ObservePanel client={connection?.labClient} sandboxId={sandboxId} defaultPanel={panel} collapsible={false} />;
}
