'use client';

import { useConnectionStatus, useWorkspace } from '../lesson/workspace-context';
import type { ObserveView } from '../../protocol';
import { ObservePanel } from './observe-panel';

/** The observe panel on a lesson page, on the page's own sandbox connection. */
export function LessonObserve({ panel }: { panel?: ObserveView }) {
  const { connection } = useWorkspace();
  // Re-render on connection changes: a reconnect brings a new client, a restart a new sandbox.
  useConnectionStatus(connection);
  return <ObservePanel client={connection?.labClient} sandboxId={connection?.sandboxId} defaultPanel={panel} collapsible={false} />;
}
