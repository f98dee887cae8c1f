/**
 * Terminal 1 shown before the page hydrates (early-screen.ts): made once, in the server-rendered
 * pane, over the early connection; adopted by the page's terminal as it is (no second terminal,
 * no second registration); and gone with its connection when no page ever claims it.
 * No DOM here: the pane, the page and the terminal class are stand-ins for what early-screen.ts
 * touches of them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SandboxConnection, TerminalSlot } from '../connection/sandbox-connection';
import { Store } from '../state/store';
import type { OwnedTerminalOptions } from './owned-terminal';
import type { TerminalState } from './xterm-host';

const early = vi.hoisted(() => ({ connection: undefined as unknown }));
vi.mock('../connection/early-lesson', () => ({
  earlyLessonConnection: (slug: string) => (slug === 'pid' ? early.connection : undefined),
}));
vi.mock('../connection/unclaimed', () => ({
  whenUnclaimed: (expire: () => void) => {
    const timer = setTimeout(expire, 60_000);
    return () => clearTimeout(timer);
  },
}));

const { adoptEarlyScreen, resetEarlyScreen, showEarlyScreen } = await import('./early-screen');
type OwnedTerminalClass = Parameters<typeof showEarlyScreen>[1];

/** The server-rendered host element: empty until a terminal opens in it. */
class Pane extends EventTarget {
  firstChild: unknown = null;
  isConnected = true;
  contains(node: unknown): boolean {
    return node === this;
  }
}

/** The part of SandboxConnection the early screen uses: slots registered and unregistered. */
class Connection {
  readonly slots: TerminalSlot[] = [];
  registrations = 0;
  register(slot: TerminalSlot): () => void {
    this.registrations++;
    this.slots.push(slot);
    return () => this.slots.splice(this.slots.indexOf(slot), 1);
  }
  setActiveSlot(): void {}
}

/** An OwnedTerminal that opens into its pane and can be told its state. */
class Terminal {
  static made: Terminal[] = [];
  readonly slot: number;
  readonly host: { element: Pane; terminal: { element: { toggleAttribute(): void } } };
  disposed = false;
  readonly state = new Store<TerminalState>({ phase: 'waiting' });
  constructor(
    element: Pane,
    options: OwnedTerminalOptions,
  ) {
    this.slot = options.slot;
    this.host = { element, terminal: { element: { toggleAttribute: () => undefined } } };
    element.firstChild = this;
    Terminal.made.push(this);
  }
  setState(state: TerminalState): void {
    this.state.set(state);
  }
  dispose(): void {
    this.disposed = true;
    this.host.element.firstChild = null;
  }
}
const Owned = Terminal as unknown as OwnedTerminalClass;

let pane: Pane;
let connection: Connection;

beforeEach(() => {
  vi.useFakeTimers();
  pane = new Pane();
  connection = new Connection();
  early.connection = connection;
  Terminal.made = [];
  vi.stubGlobal('window', new EventTarget());
  vi.stubGlobal('document', {
    readyState: 'complete',
    documentElement: { classList: { contains: () => false } },
    querySelector: () => pane,
  });
});

afterEach(() => {
  resetEarlyScreen();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const asConnection = (value: Connection) => value as unknown as SandboxConnection;
const asElement = (value: Pane) => value as unknown as HTMLElement;

describe('the early screen', () => {
  it('makes terminal 1 once, in the pane, registered with the early connection', () => {
    showEarlyScreen('pid', Owned);
    showEarlyScreen('pid', Owned);
    expect(Terminal.made).toHaveLength(1);
    expect(pane.firstChild).toBe(Terminal.made[0]);
    expect(connection.slots).toEqual([Terminal.made[0]]);
  });

  it('is adopted by the page as it is: the same terminal, its state so far, no second registration', () => {
    showEarlyScreen('pid', Owned);
    const [terminal] = Terminal.made;
    terminal.setState({ phase: 'live', terminalId: 'term-1' });
    const adopted = adoptEarlyScreen(asConnection(connection), asElement(pane));
    expect(adopted?.terminal).toBe(terminal);
    expect(adopted?.terminal.state.get()).toEqual({ phase: 'live', terminalId: 'term-1' });
    const heard: TerminalState[] = [];
    adopted!.terminal.state.subscribe(() => heard.push(adopted!.terminal.state.get()));
    terminal.setState({ phase: 'exited', terminalId: 'term-1' });
    expect(heard.map((state) => state.phase)).toEqual(['exited']);
    expect(connection.registrations).toBe(1);
    expect(terminal.disposed).toBe(false);

    // The page's cleanup undoes the registration.
    for (const undo of adopted!.undos.reverse()) undo();
    expect(connection.slots).toEqual([]);
  });

  it('is not adopted into another pane (the page was rendered anew): it goes away, and the page makes its own', () => {
    showEarlyScreen('pid', Owned);
    const [terminal] = Terminal.made;
    expect(adoptEarlyScreen(asConnection(connection), asElement(new Pane()))).toBeUndefined();
    expect(terminal.disposed).toBe(true);
    expect(connection.slots).toEqual([]);
  });

  it('is not made once the page has its terminal 1, nor without an early connection', () => {
    showEarlyScreen('other-lesson', Owned);
    expect(Terminal.made).toHaveLength(0);
    expect(adoptEarlyScreen(asConnection(connection), asElement(pane))).toBeUndefined();
    showEarlyScreen('pid', Owned);
    expect(Terminal.made).toHaveLength(0);
  });

  it('goes away with its connection when no page claims it (the page’s code never came)', () => {
    showEarlyScreen('pid', Owned);
    const [terminal] = Terminal.made;
    vi.advanceTimersByTime(59_999);
    expect(terminal.disposed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(terminal.disposed).toBe(true);
    expect(connection.slots).toEqual([]);
    expect(pane.firstChild).toBeNull();
  });
});
