'use client';

import { createContext, useContext, useEffect, useState } from 'react';
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

/**
 * Whether terminal 1 is on screen on this connection: it attached in its xterm (or failed), and
 * the browser has since painted a frame, so its first prompt has been drawn. Stays true through
 * the connection's reconnects. What waits for it (terminal 2's xterm, the observe panel) would
 * otherwise run in the same task as terminal 1's attach, before its screen is even parsed.
 */
export function useFirstTerminalOnScreen(connection: SandboxConnection | null): boolean {
  const settled = Boolean(useConnectionStatus(connection).firstTerminalSettled);
  const [onScreenFor, setOnScreenFor] = useState<SandboxConnection | null>(null);
  const onScreen = connection !== null && onScreenFor === connection;
  useEffect(() => {
    if (!settled || onScreen || !connection) return;
    // xterm.js parses what was written in a task of its own and draws it in the next frame: after that frame.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => setOnScreenFor(connection));
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [settled, onScreen, connection]);
  return onScreen;
}
