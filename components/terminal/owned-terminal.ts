/**
 * The learner's own terminal: an xterm host streaming one pty in their sandbox, which they type
 * into and which takes the pane's size.
 *
 * The socket belongs to the SandboxConnection, because a lesson's terminals and checks share one
 * sandbox and one session. The connection hands this class a client each time it (re)connects;
 * `attach()` then opens or re-attaches the pty and replays its screen.
 */
import type { LabClient } from '../../lib/lab-client';
import type { TerminalKind } from '../../protocol/common';
import { MAX_INPUT_CHARS, TERMINAL_LIMITS } from '../../protocol/limits';
import type { TerminalSlot } from '../connection/sandbox-connection';
import { Store, type ReadableStore } from '../state/store';
import type { EarlyTerminal } from './early-terminal';
import { OutputStream } from './output-stream';
import { clamp, XtermHost, type TerminalSettings, type TerminalState } from './xterm-host';

export interface OwnedTerminalOptions extends TerminalSettings {
  slot: number;
  onFocus?(): void;
}

export class OwnedTerminal implements TerminalSlot {
  readonly slot: number;
  readonly host: XtermHost;
  private readonly stateStore = new Store<TerminalState>({ phase: 'waiting' });
  private stream: OutputStream | undefined;
  /** Each attach() gets a number; an answer for an older one is stale and dropped. */
  private attachSeq = 0;
  /** Nothing has been written to the terminal yet: it is as clean as a reset would make it. */
  private blank = true;
  private disposed = false;

  constructor(
    element: HTMLElement,
    private readonly options: OwnedTerminalOptions,
  ) {
    this.slot = options.slot;
    this.host = new XtermHost(element, { ...options, onPaneResize: () => this.fit() });
    const { terminal } = this.host;
    const onFocus = () => options.onFocus?.();
    terminal.textarea?.addEventListener('focus', onFocus);
    this.host.own(
      { dispose: () => terminal.textarea?.removeEventListener('focus', onFocus) },
      terminal.onData((data) => this.sendInput(data)),
      terminal.onBinary((data) => this.sendInput(data)),
      terminal.onResize(({ cols, rows }) => this.stream?.client.send('terminal:resize', { terminalId: this.stream.terminalId, cols, rows })),
    );
    this.fit();
  }

  /** Where it is: waiting, attaching, live, exited or failed (what its view shows). */
  get state(): ReadableStore<TerminalState> {
    return this.stateStore;
  }

  // ---------------------------------------------------------------------------------------------
  // TerminalSlot: driven by the SandboxConnection
  // ---------------------------------------------------------------------------------------------

  async attach(client: LabClient, sandboxId: string, terminalId: string | undefined, early?: EarlyTerminal): Promise<string> {
    const seq = ++this.attachSeq;
    this.unbind();
    this.setState({ phase: 'attaching', terminalId });
    this.fit();
    const { terminal } = this.host;
    const cols = clamp(terminal.cols, TERMINAL_LIMITS.minCols, TERMINAL_LIMITS.maxCols);
    const rows = clamp(terminal.rows, TERMINAL_LIMITS.minRows, TERMINAL_LIMITS.maxRows);
    let opened;
    try {
      // The connection may have opened it already, while xterm.js was loading (early-terminal.ts).
      opened = await (early?.opened ?? client.request('terminal:open', { sandboxId, cols, rows, ...(terminalId ? { terminalId } : {}) }));
    } catch (error) {
      if (seq === this.attachSeq && !this.disposed) this.setState({ phase: 'failed', message: (error as Error).message, terminalId });
      throw error;
    } finally {
      if (seq !== this.attachSeq || this.disposed) early?.dispose();
    }
    if (seq !== this.attachSeq || this.disposed) return opened.terminalId;

    const id = opened.terminalId;
    const onExit = (exitCode: number | null) => this.setState({ phase: 'exited', terminalId: id, message: exitMessage(opened.kind, exitCode) });
    // The snapshot is the whole screen and scrollback as escape sequences; it goes into a
    // clean terminal so that a reload shows exactly what was there. A new terminal is clean
    // already, and a reset redraws every row and rewrites the renderer's styles: on the first
    // prompt's path that is tens of ms of main thread for nothing.
    if (!this.blank) terminal.reset();
    this.blank = false;
    if (opened.snapshot) terminal.write(opened.snapshot);
    if (early) {
      // What came while xterm.js loaded follows the snapshot. Held output past its bound is gone:
      // attaching again brings the screen as a snapshot instead.
      const stream = early.adopt(terminal, onExit);
      if (!stream) return this.attach(client, sandboxId, id);
      this.stream = stream;
      // Opened before the pane was measured: the pty takes the pane's size now.
      if (early.size.cols !== cols || early.size.rows !== rows) client.send('terminal:resize', { terminalId: id, cols, rows });
    } else {
      // Output for this terminal can only arrive after the answer (the server sends it from later
      // turns, and socket.io delivers in order), so subscribing here misses nothing.
      this.stream = new OutputStream(client, id, terminal, { onExit });
    }
    this.setState(opened.exited ? { phase: 'exited', terminalId: id, message: exitMessage(opened.kind, null) } : { phase: 'live', terminalId: id });
    return id;
  }

  detach(reason: 'disconnected' | 'ended', message?: string): void {
    this.attachSeq++;
    this.unbind();
    const state = this.stateStore.get();
    if (state.phase === 'exited' && reason === 'ended') return;
    this.setState({ ...state, phase: reason === 'ended' ? 'exited' : 'waiting', message });
  }

  /** Types text as if the learner had: a Run button uses this. */
  type(data: string): boolean {
    if (!this.stream || this.stateStore.get().phase !== 'live') return false;
    this.host.terminal.scrollToBottom();
    this.sendInput(data);
    return true;
  }

  focus(): void {
    this.host.terminal.focus();
  }

  // ---------------------------------------------------------------------------------------------
  // Display settings
  // ---------------------------------------------------------------------------------------------

  setFontSize(fontSize: number): void {
    if (this.host.terminal.options.fontSize === fontSize) return;
    this.host.terminal.options.fontSize = fontSize;
    this.fit();
  }

  /** Sizes the terminal (and so the pty) to its pane. A hidden pane (an inactive tab) is left as it is. */
  fit(): void {
    if (this.disposed || this.host.hidden) return;
    const proposed = this.host.fitAddon.proposeDimensions();
    if (!proposed || !Number.isFinite(proposed.cols) || !Number.isFinite(proposed.rows)) return;
    if (proposed.cols < TERMINAL_LIMITS.minCols || proposed.rows < TERMINAL_LIMITS.minRows) return;
    this.host.fitAddon.fit();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unbind();
    this.host.dispose();
    this.stateStore.close();
  }

  // ---------------------------------------------------------------------------------------------

  private sendInput(data: string): void {
    const stream = this.stream;
    if (!stream || this.stateStore.get().phase !== 'live') return;
    // A huge paste is split to fit the protocol's per-message limit; order is kept by the socket.
    for (let start = 0; start < data.length; start += MAX_INPUT_CHARS) {
      stream.client.send('terminal:input', { terminalId: stream.terminalId, data: data.slice(start, start + MAX_INPUT_CHARS) });
    }
  }

  private unbind(): void {
    this.stream?.dispose();
    this.stream = undefined;
  }

  private setState(state: TerminalState): void {
    if (state.phase === 'live') this.host.loadGpuRenderer();
    this.stateStore.set(state);
  }
}

function exitMessage(kind: TerminalKind, exitCode: number | null): string {
  const code = exitCode === null || exitCode === 0 ? '' : ` (exit code ${exitCode})`;
  return kind === 'run' ? `The sandbox's main shell exited${code}, so the sandbox ended.` : `This shell exited${code}.`;
}
