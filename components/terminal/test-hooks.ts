/**
 * A window.isolab handle for browser tests, installed only when the browser is driven by
 * automation (navigator.webdriver), so normal pages carry no extra globals. Tests read what the
 * learner sees on the terminal screen through it instead of scraping canvas pixels.
 */
import type { SandboxConnection } from '../connection/sandbox-connection';
import type { MirrorTerminal } from './mirror-terminal';
import type { OwnedTerminal } from './owned-terminal';

export interface IsolabTestHooks {
  connection(): SandboxConnection | undefined;
  /** Everything in terminal `slot` (0-based), scrollback included. */
  terminalText(slot: number): string;
  terminalState(slot: number): string | undefined;
  renderer(slot: number): string | undefined;
  /** The terminal's size in characters, as xterm.js laid it out. */
  size(slot: number): { cols: number; rows: number } | undefined;
  /** Closes the socket's transport the way a network drop does. */
  dropConnection(): void;
  /** What a read-only view shows: 'follow' (the instructor's broadcast) or 'spotlight' (a learner's screen). */
  mirrorText(name: MirrorName): string;
  mirrorState(name: MirrorName): string | undefined;
}

export type MirrorName = 'follow' | 'spotlight';

declare global {
  interface Window {
    isolab?: IsolabTestHooks;
  }
}

const terminals = new Map<number, OwnedTerminal>();
const mirrors = new Map<MirrorName, MirrorTerminal>();
let currentConnection: SandboxConnection | undefined;

function enabled(): boolean {
  return typeof navigator !== 'undefined' && navigator.webdriver === true;
}

function install(): void {
  if (!enabled() || window.isolab) return;
  window.isolab = {
    connection: () => currentConnection,
    terminalText: (slot) => terminals.get(slot)?.host.text() ?? '',
    terminalState: (slot) => terminals.get(slot)?.state.get().phase,
    renderer: (slot) => terminals.get(slot)?.host.renderer,
    size: (slot) => {
      const terminal = terminals.get(slot)?.host.terminal;
      return terminal ? { cols: terminal.cols, rows: terminal.rows } : undefined;
    },
    dropConnection: () => currentConnection?.labClient?.socket.io.engine?.close(),
    mirrorText: (name) => mirrors.get(name)?.host.text() ?? '',
    mirrorState: (name) => mirrors.get(name)?.state.get().phase,
  };
}

export function exposeConnection(connection: SandboxConnection): () => void {
  if (!enabled()) return () => undefined;
  install();
  currentConnection = connection;
  return () => {
    if (currentConnection === connection) currentConnection = undefined;
  };
}

export function exposeTerminal(terminal: OwnedTerminal): () => void {
  if (!enabled()) return () => undefined;
  install();
  terminals.set(terminal.slot, terminal);
  return () => {
    if (terminals.get(terminal.slot) === terminal) terminals.delete(terminal.slot);
  };
}

export function exposeMirror(name: MirrorName, mirror: MirrorTerminal): () => void {
  if (!enabled()) return () => undefined;
  install();
  mirrors.set(name, mirror);
  return () => {
    if (mirrors.get(name) === mirror) mirrors.delete(name);
  };
}
