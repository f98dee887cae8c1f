'use client';

import { useRef } from 'react';
import { cn } from '../ui/cn';
import type { MirrorTerminal } from '../terminal/mirror-terminal';
import { exposeMirror, type MirrorName } from '../terminal/test-hooks';
import { useTerminal } from '../terminal/use-terminal';

export interface MirrorViewProps {
  /** Hands the terminal to whoever feeds it (the follow or spotlight channel); returns the undo. */
  register: (terminal: MirrorTerminal) => () => void;
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
 * A read-only terminal showing someone else's screen: a MirrorTerminal, mounted here and
 * disposed on unmount. It never sends input; its font is scaled so that the owner's whole screen
 * fits.
 */
export function MirrorView({ register, name, label, maxFontSize, waitingText = 'Connecting…', onGeometry, className }: MirrorViewProps) {
  const geometry = useRef(onGeometry);
  geometry.current = onGeometry;
  const { hostRef, state } = useTerminal<MirrorTerminal>({
    load: () =>
      import('../terminal/mirror-terminal').then(
        ({ MirrorTerminal }) =>
          (element, initial) =>
            new MirrorTerminal(element, { ...initial, maxFontSize }),
      ),
    connect: (terminal) => {
      const resized = terminal.host.terminal.onResize(({ cols, rows }) => geometry.current?.(cols, rows));
      return [() => resized.dispose(), exposeMirror(name, terminal), register(terminal)];
    },
    deps: [register, name, maxFontSize],
  });

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
