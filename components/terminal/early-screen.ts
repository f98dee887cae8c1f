/**
 * Terminal 1 on screen before the lesson page has hydrated. Opened by its address, a lesson's
 * sandbox and terminal 1 are ready over the early connection (early-lesson.ts) while React is
 * still hydrating the page (a second and more of JavaScript on a busy box), and the prompt used to
 * wait for that. instrumentation-client.ts calls showEarlyScreen() once xterm.js has loaded: it
 * makes terminal 1's OwnedTerminal in the server-rendered pane (the host element, which React
 * renders as a leaf whose children it never touches: terminal-view.tsx), registers it with the
 * early connection, which attaches it (screen, output and typing), and shows it to tests. When
 * the page's TerminalView mounts it adopts that terminal (adoptEarlyScreen): the same xterm and
 * the same stream, nothing asked of the server again.
 *
 * Until the page hydrates, React stands in the way of typing: hydrating, it listens on the document
 * and stops every key, click and paste aimed at a part of the page it has not hydrated yet (so that
 * a server-rendered button never misses its handler; react-dom's dispatchEvent). The terminal is
 * not React's, so its events are let through (passEventsThrough) until the page adopts it.
 *
 * Until the page hydrates, its server-rendered "Starting your sandbox" overlay would cover the
 * live terminal: the xterm element carries `data-live` while its terminal is live, and a rule in
 * globals.css hides a "connecting" overlay over it. After hydration the overlay is React's and
 * follows the connection.
 *
 * The OwnedTerminal class comes as an argument, so this module stays out of xterm.js's chunk
 * (TerminalView imports it with the page).
 */
import { earlyLessonConnection } from '../connection/early-lesson';
import { markFirstPrompt } from '../connection/first-prompt-marks';
import { whenUnclaimed } from '../connection/unclaimed';
import type { SandboxConnection } from '../connection/sandbox-connection';
import { preferencesStore } from '../preferences/preferences-store';
import type { OwnedTerminal } from './owned-terminal';
import { exposeTerminal } from './test-hooks';

type OwnedTerminalClass = typeof import('./owned-terminal').OwnedTerminal;

/** Where terminal 1's xterm goes: the host element of the server-rendered TerminalView. */
export const EARLY_HOST_SELECTOR = '[data-testid="terminal-1"] .terminal-host';

interface EarlyScreen {
  connection: SandboxConnection;
  terminal: OwnedTerminal;
  /** Undoes the registration with the connection and the test hook. */
  undos: Array<() => void>;
  /** Stops letting the terminal's events past React (see passEventsThrough). */
  stopPassing: () => void;
  cancelDrop: () => void;
}

let screen: EarlyScreen | undefined;
/** The page made or adopted terminal 1: an early one now would be a second xterm. */
let pageTookOver = false;

/**
 * Puts terminal 1 on screen through the early connection for `slug`, unless the page has hydrated
 * and made its own, or there is no early connection (it was claimed, or never started).
 */
export function showEarlyScreen(slug: string, Owned: OwnedTerminalClass): void {
  if (screen || pageTookOver) return;
  const connection = earlyLessonConnection(slug);
  if (!connection) return;
  const element = document.querySelector<HTMLElement>(EARLY_HOST_SELECTOR);
  if (!element) {
    // xterm.js came before the HTML was parsed this far.
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => showEarlyScreen(slug, Owned), { once: true });
    return;
  }
  if (element.firstChild) return;

  markFirstPrompt('terminal-code');
  const preferences = preferencesStore.get();
  const terminal = new Owned(element, {
    slot: 0,
    fontSize: preferences.fontSize,
    screenReaderMode: preferences.screenReader,
    // As the inline theme script resolved it before the first paint.
    theme: document.documentElement.classList.contains('dark') ? 'dark' : 'light',
    onFocus: () => connection.setActiveSlot(0),
  });
  // For the rule in globals.css; for the terminal's whole life (its store is closed on dispose).
  terminal.state.subscribe(() => terminal.host.terminal.element?.toggleAttribute('data-live', terminal.state.get().phase === 'live'));
  markFirstPrompt('terminal-made');
  const made: EarlyScreen = {
    connection,
    terminal,
    undos: [],
    stopPassing: passEventsThrough(element),
    // The page never claimed the connection (its code failed to load, say): early-lesson.ts
    // closes it then, and this terminal goes with it rather than stay on screen, dead.
    cancelDrop: whenUnclaimed(() => {
      if (screen !== made) return;
      screen = undefined;
      drop(made);
    }),
  };
  screen = made;
  // Registering attaches it at once if the sandbox is ready: its state changes from here on.
  made.undos.push(exposeTerminal(terminal), connection.register(terminal));
}

/**
 * Called by terminal 1's TerminalView when it mounts: the terminal shown before hydration, if it
 * is in this very `element` and on this `connection`, now the caller's, with the undos of its
 * registration (the connection's and the test hook's) for the caller's cleanup; its state so far
 * is in its state store. Undefined when there is none: then the caller makes its own, and no early
 * one is made after this.
 */
export function adoptEarlyScreen(
  connection: SandboxConnection,
  element: HTMLElement,
): { terminal: OwnedTerminal; undos: Array<() => void> } | undefined {
  pageTookOver = true;
  const adopted = screen;
  screen = undefined;
  if (!adopted) return undefined;
  adopted.cancelDrop();
  adopted.stopPassing();
  // Hydration kept the server's pane (it always does, unless it failed and rendered the page
  // anew): anything else, and this terminal is not on screen any more.
  if (adopted.connection !== connection || adopted.terminal.host.element !== element || !element.isConnected) {
    drop(adopted);
    return undefined;
  }
  return { terminal: adopted.terminal, undos: adopted.undos };
}

/** As the TerminalView unmounting would: off the connection, then off the screen. */
function drop(entry: EarlyScreen): void {
  entry.stopPassing();
  for (const undo of entry.undos.splice(0).reverse()) undo();
  entry.terminal.dispose();
}

/**
 * The events React stops while it hydrates, when they are aimed at a part of the page it has not
 * hydrated: its "discrete" events, and the continuous ones it queues to replay (react-dom's
 * discreteReplayableEvents and queueIfContinuousEvent).
 */
const EVENTS_REACT_HOLDS = [
  'keydown',
  'keypress',
  'keyup',
  'input',
  'textInput',
  'compositionstart',
  'compositionend',
  'copy',
  'cut',
  'paste',
  'mousedown',
  'mouseup',
  'click',
  'dblclick',
  'auxclick',
  'contextmenu',
  'pointerdown',
  'pointerup',
  'pointercancel',
  'touchstart',
  'touchend',
  'touchcancel',
  'dragstart',
  'dragend',
  'drop',
  'focusin',
  'mouseover',
  'pointerover',
  'dragenter',
];

/**
 * Lets the events aimed inside `host` reach xterm.js while React hydrates. React stops them from
 * its listener on the document, in the capture phase, by calling the event's stopPropagation(); a
 * capture listener on the window runs before it and gives that one event a stopPropagation() that
 * does nothing, and a capture listener on `host`, which runs after React's and before xterm's own,
 * takes it away again, so xterm.js can stop what it handles as usual. Returns the undo.
 */
function passEventsThrough(host: HTMLElement): () => void {
  const shield = (event: Event) => {
    if (event.target instanceof Node && host.contains(event.target)) Object.defineProperty(event, 'stopPropagation', { value: () => undefined, configurable: true });
  };
  const unshield = (event: Event) => {
    delete (event as { stopPropagation?: unknown }).stopPropagation;
  };
  for (const type of EVENTS_REACT_HOLDS) {
    window.addEventListener(type, shield, true);
    host.addEventListener(type, unshield, true);
  }
  return () => {
    for (const type of EVENTS_REACT_HOLDS) {
      window.removeEventListener(type, shield, true);
      host.removeEventListener(type, unshield, true);
    }
  };
}

/** Tests only: back to a page that has not loaded yet. */
export function resetEarlyScreen(): void {
  if (screen) {
    screen.cancelDrop();
    drop(screen);
  }
  screen = undefined;
  pageTookOver = false;
}
