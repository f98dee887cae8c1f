'use client';

import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ConnectionStatus, SandboxConnection } from '../terminal/sandbox-connection';

/** What a lesson page's interactive parts share: the lesson's shape and its sandbox connection. */
export interface Workspace {
  slug: string;
  /** How many terminals the lesson asks for. */
  terminals: 1 | 2;
  /** Null until the page has mounted (the server renders without one). */
  connection: SandboxConnection | null;
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const workspace = useContext(WorkspaceContext);
  if (!workspace) throw new Error('useWorkspace() needs a <LessonWorkspace> around it.');
  return workspace;
}

const STARTING: ConnectionStatus = { state: 'connecting', message: 'Connecting to the lab…', liveTerminals: 0 };
const noSubscription = () => () => undefined;

export function useConnectionStatus(connection: SandboxConnection | null): ConnectionStatus {
  return useSyncExternalStore(
    connection?.subscribe ?? noSubscription,
    connection ? connection.getStatus : () => STARTING,
    () => STARTING,
  );
}

export function useActiveSlot(connection: SandboxConnection | null): number {
  return useSyncExternalStore(connection?.subscribe ?? noSubscription, connection ? connection.getActiveSlot : () => 0, () => 0);
}
