'use client';

import { useEffect, useRef, useState } from 'react';
import { usePreferences } from '../preferences/use-preferences';
import { useResolvedTheme } from '../site/use-resolved-theme';
import { cn } from '../ui/cn';
import type { TerminalSession, TerminalState } from '../terminal/terminal-session';
import { exposeMirror, type MirrorName } from '../terminal/test-hooks';
import type { MirrorView as MirrorViewTarget } from './mirror-channel';

export interface MirrorViewProps {
  /** Hands the view to whoever feeds it (the follow or spotlight channel); returns the undo. */
  register: (view: MirrorViewTarget) => () => void;
  /** For tests: window.isolab.mirrorText(name). */
  name: MirrorName;
  /** What a screen reader announces for the terminal. */
  label: string;
  /** The largest font the zoom-to-fit may pick. */
  maxFontSize?: number;
  /** Shown over the terminal while nothing is streaming (e.g. "Waiting for the broadcast…"). */
  waitingText?: string;
  /** The mirrored screen's size in characters, whenever it changes (to size the pane to it). */
  onGeometry?(cols: number, rows: number): void;
  className?: string;
}

/**
 * A read-only terminal showing someone else's screen: a TerminalSession in read-only mode,
 * mounted here and disposed on unmount. It never sends input; its font is scaled so that the
 * owner's whole screen fits.
 */
export function MirrorView({ register, name, label, maxFontSize, waitingText = 'Connecting…', onGeometry, className }: MirrorViewProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const { fontSize, screenReader } = usePreferences();
  const theme = useResolvedTheme();
  const sessionRef = useRef<TerminalSession | null>(null);
  const [state, setState] = useState<TerminalState>({ phase: 'waiting' });
  const settings = useRef({ fontSize, screenReader, theme });
  settings.current = { fontSize, screenReader, theme };
  const geometry = useRef(onGeometry);
  geometry.current = onGeometry;

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    let cancelled = false;
    const cleanups: Array<() => void> = [];
    import('../terminal/terminal-session')
      .then(({ TerminalSession }) => {
        if (cancelled) return;
        const session = new TerminalSession(host, {
          slot: -1,
          readOnly: true,
          maxFontSize,
          fontSize: settings.current.fontSize,
          screenReaderMode: settings.current.screenReader,
          theme: settings.current.theme,
          onStateChange: setState,
        });
        sessionRef.current = session;
        const resized = session.terminal.onResize(({ cols, rows }) => geometry.current?.(cols, rows));
        cleanups.push(
          () => resized.dispose(),
          () => {
            session.dispose();
            sessionRef.current = null;
          },
          exposeMirror(name, session),
          register(session),
        );
      })
      .catch((error: Error) => {
        if (!cancelled) setState({ phase: 'failed', message: `The terminal could not load (${error.message}). Reload the page.` });
      });
    return () => {
      cancelled = true;
      for (const cleanup of cleanups.reverse()) cleanup();
    };
  }, [register, name, maxFontSize]);

  useEffect(() => sessionRef.current?.setTheme(theme), [theme]);
  useEffect(() => sessionRef.current?.setScreenReaderMode(screenReader), [screenReader]);

  const note = state.phase === 'live' ? undefined : state.message ?? waitingText;

  return (
    <div
      role="group"
      aria-label={label}
      aria-roledescription="read-only terminal"
      data-testid={`mirror-${name}`}
      data-phase={state.phase}
      className={cn('relative flex min-h-0 min-w-0 flex-1 flex-col overflow-hidden rounded-lg border bg-terminal shadow-sm', className)}
    >
      <div className="min-h-0 flex-1 py-2 pr-1 pl-3">
        <div ref={hostRef} className="terminal-host h-full w-full" />
      </div>
      {note ? (
        <div className="absolute inset-0 flex items-center justify-center bg-terminal/80 p-4">
          <p className="flex items-center gap-3 rounded-full border bg-card px-4 py-2 text-sm shadow-sm" role="status">
            {state.phase === 'waiting' || state.phase === 'attaching' ? (
              <span aria-hidden className="size-4 animate-spin rounded-full border-2 border-current border-t-transparent text-accent" />
            ) : null}
            {note}
          </p>
        </div>
      ) : null}
    </div>
  );
}
