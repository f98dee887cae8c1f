'use client';

import { useEffect, useRef, useState, type DependencyList, type RefObject } from 'react';
import { usePreferences } from '../preferences/use-preferences';
import { useResolvedTheme } from '../site/use-resolved-theme';
import type { ReadableStore } from '../state/store';
import { useStore } from '../state/use-store';
import type { TerminalSettings, TerminalState, XtermHost } from './xterm-host';

/** A terminal class built on an XtermHost: OwnedTerminal or MirrorTerminal. */
export interface HostedTerminal {
  readonly host: XtermHost;
  readonly state: ReadableStore<TerminalState>;
  dispose(): void;
}

export type TerminalFactory<T> = (element: HTMLElement, settings: TerminalSettings) => T;

/** What a terminal shows before it exists (its code is loading) and what the server renders. */
const WAITING: TerminalState = { phase: 'waiting' };

export interface UseTerminalOptions<T> {
  /** Loads xterm.js and the terminal class (in the browser only, after the first paint) and returns how to make one. */
  load: () => Promise<TerminalFactory<T>>;
  /** Hands the new terminal to whoever feeds it (the connection, a mirror channel); returns the undos. */
  connect: (terminal: T) => Array<() => void>;
  /** Makes a new terminal when one of these changes; none is made while `enabled` is false. */
  deps: DependencyList;
  enabled?: boolean;
  /** Overrides the learner's font size preference (demo mode's projector size). */
  fontSize?: number;
}

/**
 * Mounts a terminal into the page and disposes it on unmount: the one piece of React both
 * TerminalView and MirrorView use. Everything else (socket, xterm, flow control, replay) happens
 * in the terminal classes and the connection.
 */
export function useTerminal<T extends HostedTerminal>({ load, connect, deps, enabled = true, fontSize }: UseTerminalOptions<T>): {
  hostRef: RefObject<HTMLDivElement | null>;
  terminalRef: RefObject<T | null>;
  state: TerminalState;
  settings: TerminalSettings;
} {
  const preferences = usePreferences();
  const theme = useResolvedTheme();
  const settings: TerminalSettings = { fontSize: fontSize ?? preferences.fontSize, screenReaderMode: preferences.screenReader, theme };
  const hostRef = useRef<HTMLDivElement>(null);
  const terminalRef = useRef<T | null>(null);
  // The terminal in state too, so the view renders its state store; a failed load has no terminal.
  const [terminal, setTerminal] = useState<T | null>(null);
  const [loadFailure, setLoadFailure] = useState<TerminalState | null>(null);
  const terminalState = useStore(terminal?.state, WAITING);
  // Read when the terminal is made; later changes go through the effects below.
  const latest = useRef({ settings, load, connect });
  latest.current = { settings, load, connect };

  useEffect(() => {
    const element = hostRef.current;
    if (!enabled || !element) return;
    let cancelled = false;
    const cleanups: Array<() => void> = [];
    latest.current
      .load()
      .then((create) => {
        if (cancelled) return;
        const made = create(element, latest.current.settings);
        terminalRef.current = made;
        setTerminal(made);
        setLoadFailure(null);
        cleanups.push(() => {
          made.dispose();
          terminalRef.current = null;
          setTerminal(null);
        }, ...latest.current.connect(made));
      })
      .catch((error: Error) => {
        if (!cancelled) setLoadFailure({ phase: 'failed', message: `The terminal could not load (${error.message}). Reload the page.` });
      });
    return () => {
      cancelled = true;
      for (const cleanup of cleanups.reverse()) cleanup();
    };
  }, [enabled, ...deps]);

  useEffect(() => terminalRef.current?.host.setScreenReaderMode(settings.screenReaderMode), [settings.screenReaderMode]);
  useEffect(() => terminalRef.current?.host.setTheme(theme), [theme]);

  return { hostRef, terminalRef, state: loadFailure ?? terminalState, settings };
}
