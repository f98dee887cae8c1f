'use client';

import { createContext, useContext } from 'react';
import { STARTING_STATUS, type ConnectionStatus, type SandboxConnection } from '../connection/sandbox-connection';
import { useStore } from '../state/use-store';

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

export function useConnectionStatus(connection: SandboxConnection | null): ConnectionStatus {
  return useStore(connection?.state, STARTING_STATUS);
}

export function useActiveSlot(connection: SandboxConnection | null): number {
  return useStore(connection?.activeSlot, 0);
}
