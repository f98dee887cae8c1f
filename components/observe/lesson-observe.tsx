'use client';

import { useConnectionStatus, useWorkspace } from '../lesson/workspace-context';
import { ObservePanel, type ObservePanelName } from './observe-panel';

/** The observe panel on a lesson page, on the page's own sandbox connection. */
export function LessonObserve({ panel }: { panel?: ObservePanelName }) {
  const { connection } = useWorkspace();
  // Re-render on connection changes: a reconnect brings a new client, a restart a new sandbox.
  useConnectionStatus(connection);
  return <ObservePanel client={connection?.labClient} sandboxId={connection?.sandboxId} defaultPanel={panel} collapsible={false} />;
}
