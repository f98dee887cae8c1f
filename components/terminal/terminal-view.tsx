'use client';

import { useEffect } from 'react';
import { markFirstPrompt } from '../connection/first-prompt-marks';
import type { SandboxConnection } from '../connection/sandbox-connection';
import { Button } from '../ui/button';
import { cn } from '../ui/cn';
import { RefreshIcon, TerminalIcon } from '../ui/icons';
import { adoptEarlyScreen } from './early-screen';
import type { OwnedTerminal } from './owned-terminal';
import { exposeTerminal } from './test-hooks';
import { useTerminal } from './use-terminal';

export interface TerminalViewProps {
  /** The sandbox connection the terminal attaches through; null until the page has one. */
  connection: SandboxConnection | null;
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
 * The terminal's code (xterm.js, about half the page's JavaScript) starts loading as soon as this
 * module runs, so it arrives while the page hydrates and the sandbox starts, not after.
 */
const loadOwnedTerminal = () => import('./owned-terminal');
if (typeof window !== 'undefined') void loadOwnedTerminal().catch(() => undefined);

/** Terminals adopted from early-screen.ts, with the undos of the registration made there. */
const adoptedUndos = new WeakMap<OwnedTerminal, Array<() => void>>();

/**
 * The host's children are xterm's, never React's: terminal 1's xterm may be there before the page
 * hydrates (early-screen.ts), and a leaf with inner HTML is one whose children React neither
 * hydrates nor replaces (the same empty string on every render is never written again).
 */
const XTERM_ONLY = { __html: '' };

/** One of the learner's own terminals: an OwnedTerminal, mounted here and disposed on unmount. */
export function TerminalView({ connection, slot, label, visible, connectionLive, fontSize, className }: TerminalViewProps) {
  const { hostRef, terminalRef, state, settings } = useTerminal<OwnedTerminal>({
    load: () =>
      loadOwnedTerminal().then(({ OwnedTerminal }) => {
        return (element, initial) => {
          // Opened by its address, the lesson may show terminal 1 already, since before hydration.
          const early = slot === 0 && connection ? adoptEarlyScreen(connection, element) : undefined;
          if (early) {
            const { terminal, undos } = early;
            adoptedUndos.set(terminal, undos);
            terminal.setFontSize(initial.fontSize);
            terminal.host.setTheme(initial.theme);
            terminal.host.setScreenReaderMode(initial.screenReaderMode);
            return terminal;
          }
          if (slot === 0) markFirstPrompt('terminal-code');
          const terminal = new OwnedTerminal(element, { ...initial, slot, onFocus: () => connection?.setActiveSlot(slot) });
          if (slot === 0) markFirstPrompt('terminal-made');
          return terminal;
        };
      }),
    connect: (terminal) => adoptedUndos.get(terminal) ?? [exposeTerminal(terminal), connection!.register(terminal)],
    deps: [connection, slot],
    enabled: Boolean(connection),
    fontSize,
  });

  useEffect(() => terminalRef.current?.setFontSize(settings.fontSize), [terminalRef, settings.fontSize]);
  useEffect(() => {
    if (visible) terminalRef.current?.fit();
  }, [terminalRef, visible]);

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
        <div ref={hostRef} className="terminal-host h-full w-full" dangerouslySetInnerHTML={XTERM_ONLY} suppressHydrationWarning />
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
