'use client';

import { useEffect, useRef, useState } from 'react';
import { useWorkspace } from '../lesson/workspace-context';
import { usePreferences } from '../preferences/use-preferences';
import { useResolvedTheme } from '../site/use-resolved-theme';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { RefreshIcon, TerminalIcon } from '../ui/icons';
import { exposeTerminal } from './test-hooks';
import type { TerminalSession, TerminalState } from './terminal-session';

export interface TerminalViewProps {
  slot: number;
  label: string;
  /** False for a background tab: it stays attached, just not shown. */
  visible: boolean;
  /** Whether the connection is live, so per-terminal problems are worth showing. */
  connectionLive: boolean;
  /** Overrides the learner's font size preference (demo mode's projector size). */
  fontSize?: number;
  className?: string;
}

/**
 * Mounts a TerminalSession into the page and disposes it on unmount. Everything else (socket,
 * xterm, flow control, replay) happens in the session and the connection.
 */
export function TerminalView({ slot, label, visible, connectionLive, fontSize: fontSizeOverride, className }: TerminalViewProps) {
  const { connection } = useWorkspace();
  const stored = usePreferences();
  const preferences = { ...stored, fontSize: fontSizeOverride ?? stored.fontSize };
  const theme = useResolvedTheme();
  const hostRef = useRef<HTMLDivElement>(null);
  const sessionRef = useRef<TerminalSession | null>(null);
  const [state, setState] = useState<TerminalState>({ phase: 'waiting' });
  // Read when the session is created; later changes go through the effects below.
  const settings = useRef({ fontSize: preferences.fontSize, screenReader: preferences.screenReader, theme });
  settings.current = { fontSize: preferences.fontSize, screenReader: preferences.screenReader, theme };

  useEffect(() => {
    const host = hostRef.current;
    if (!connection || !host) return;
    let cancelled = false;
    const cleanups: Array<() => void> = [];
    // xterm.js needs a real DOM, so it is loaded in the browser only, after the first paint.
    import('./terminal-session')
      .then(({ TerminalSession }) => {
        if (cancelled) return;
        const initial = settings.current;
        const session = new TerminalSession(host, {
          slot,
          fontSize: initial.fontSize,
          screenReaderMode: initial.screenReader,
          theme: initial.theme,
          onStateChange: setState,
          onFocus: () => connection.setActiveSlot(slot),
        });
        sessionRef.current = session;
        cleanups.push(
          () => {
            session.dispose();
            sessionRef.current = null;
          },
          exposeTerminal(session),
          connection.register(session),
        );
      })
      .catch((error: Error) => {
        if (!cancelled) setState({ phase: 'failed', message: `The terminal could not load (${error.message}). Reload the page.` });
      });
    return () => {
      cancelled = true;
      for (const cleanup of cleanups.reverse()) cleanup();
    };
  }, [connection, slot]);

  useEffect(() => sessionRef.current?.setFontSize(preferences.fontSize), [preferences.fontSize]);
  useEffect(() => sessionRef.current?.setScreenReaderMode(preferences.screenReader), [preferences.screenReader]);
  useEffect(() => sessionRef.current?.setTheme(theme), [theme]);
  useEffect(() => {
    if (visible) sessionRef.current?.fit();
  }, [visible]);

  const problem = connectionLive && (state.phase === 'failed' || (state.phase === 'exited' && slot > 0));

  return (
    <div
      className={cn(
        'relative flex min-h-0 min-w-0 flex-1 flex-col overflow-hidden rounded-lg border bg-terminal shadow-sm transition-shadow',
        // The terminal with the keyboard shows it, like any focused control.
        'focus-within:border-ring/60 focus-within:ring-2 focus-within:ring-ring/25',
        !visible && 'invisible',
        className,
      )}
      data-testid={`terminal-${slot + 1}`}
      data-phase={state.phase}
      role="group"
      aria-label={label}
    >
      <div className="min-h-0 flex-1 py-2 pl-3 pr-1">
        <div ref={hostRef} className="terminal-host h-full w-full" />
      </div>
      {problem ? (
        <div className="absolute inset-x-3 bottom-3 flex flex-wrap items-center gap-3 rounded-lg border bg-card/95 px-4 py-3 text-sm shadow-lg backdrop-blur">
          <TerminalIcon className="size-4 text-muted-foreground" />
          <span className="min-w-0 flex-1">{state.message ?? 'This terminal stopped.'}</span>
          <Button size="sm" variant="primary" onClick={() => (slot === 0 ? connection?.retry() : connection?.reopenTerminal(slot))}>
            <RefreshIcon />
            {slot === 0 ? 'Try again' : 'Start a new shell'}
          </Button>
        </div>
      ) : null}
    </div>
  );
}
