/**
 * One terminal on the page: an xterm.js instance, its addons, and its stream to one pty in the
 * learner's sandbox. It is a plain class, kept out of React (as ttyd does): the React view only
 * creates it on mount and disposes it on unmount.
 *
 * The socket belongs to the SandboxConnection, because a lesson's terminals and checks share
 * one sandbox and one session. The connection hands this class a client each time it
 * (re)connects; `attach()` then opens or re-attaches the pty and replays its screen.
 *
 * A read-only session (`readOnly`) shows someone else's terminal instead: the instructor's
 * broadcast to a learner, or a learner's screen to the instructor. `watch()` gives it the
 * screen and the live output; it acks like any terminal but never sends input, and its size is
 * the owner's, so it scales its font to fit the pane instead of resizing the pty.
 */
import { Terminal, type IDisposable } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { MAX_INPUT_CHARS, TERMINAL_LIMITS } from '../../protocol/common';
import type { LabClient } from '../../lib/lab-client';
import type { ServerPayload } from '../../protocol/catalog';
import { copyText } from '../ui/clipboard';
import { AckBatcher } from './ack-batcher';
import type { TerminalSlot } from './sandbox-connection';
import { TERMINAL_FONT_FAMILY, TERMINAL_THEMES } from './terminal-themes';

export type TerminalPhase = 'waiting' | 'attaching' | 'live' | 'exited' | 'failed';

export interface TerminalState {
  phase: TerminalPhase;
  /** Why it is not live, in words a learner can act on. */
  message?: string;
  terminalId?: string;
  kind?: 'run' | 'exec';
}

export interface TerminalSessionOptions {
  slot: number;
  fontSize: number;
  screenReaderMode: boolean;
  theme: 'light' | 'dark';
  /** Shows another session's terminal through `watch()`; typing does nothing. */
  readOnly?: boolean;
  /** For a read-only terminal: the largest font its zoom-to-fit may pick. */
  maxFontSize?: number;
  onStateChange?(state: TerminalState): void;
  onFocus?(): void;
}

/** Another session's terminal as the server hands it over: its id, size and current screen. */
export type MirrorInfo = Pick<ServerPayload<'terminal:resized'>, 'terminalId' | 'cols' | 'rows'> & { snapshot: string };

const MIN_MIRROR_FONT_SIZE = 7;
/** What fit() leaves for xterm's scrollbar (the fit addon's own allowance). */
const SCROLLBAR_WIDTH = 14;

interface Binding {
  client: LabClient;
  terminalId: string;
  acks: AckBatcher;
  unsubscribe: Array<() => void>;
}

export class TerminalSession implements TerminalSlot {
  readonly slot: number;
  readonly terminal: Terminal;
  /** 'webgl' when the GPU renderer loaded, 'dom' when it fell back. */
  renderer: 'webgl' | 'dom' = 'dom';
  private state: TerminalState = { phase: 'waiting' };
  private readonly fitAddon = new FitAddon();
  private readonly disposables: IDisposable[] = [];
  private readonly cleanups: Array<() => void> = [];
  private binding: Binding | undefined;
  /** Each attach() gets a number; an answer for an older one is stale and dropped. */
  private attachSeq = 0;
  private fitFrame = 0;
  private shrinkFrame = 0;
  /** The pane and screen size the mirror's font was last fitted to, so a fit happens once per change. */
  private zoomedFor = '';
  private disposed = false;

  constructor(
    private readonly host: HTMLElement,
    private readonly options: TerminalSessionOptions,
  ) {
    this.slot = options.slot;
    this.terminal = new Terminal({
      fontFamily: TERMINAL_FONT_FAMILY,
      fontSize: options.fontSize,
      lineHeight: 1.15,
      theme: TERMINAL_THEMES[options.theme],
      screenReaderMode: options.screenReaderMode,
      cursorBlink: !options.readOnly,
      disableStdin: options.readOnly ?? false,
      scrollback: 5000,
      // Colours a program picks are lifted to WCAG AA against the background.
      minimumContrastRatio: 4.5,
      macOptionIsMeta: true,
      // The unicode11 addon uses the proposed unicode API.
      allowProposedApi: true,
    });
    const { terminal } = this;

    terminal.loadAddon(this.fitAddon);
    terminal.loadAddon(new Unicode11Addon());
    terminal.unicode.activeVersion = '11';
    terminal.loadAddon(new WebLinksAddon((event, uri) => {
      event.preventDefault();
      window.open(uri, '_blank', 'noopener,noreferrer');
    }));
    terminal.open(host);
    this.loadWebgl();

    terminal.attachCustomKeyEventHandler((event) => this.onKey(event));
    this.disposables.push(
      terminal.onData((data) => this.sendInput(data)),
      terminal.onBinary((data) => this.sendInput(data)),
      terminal.onResize(({ cols, rows }) => {
        const binding = this.binding;
        // A mirror's size is its owner's: it follows, it never asks.
        if (binding && !this.readOnly) binding.client.send('terminal:resize', { terminalId: binding.terminalId, cols, rows });
      }),
    );

    const onFocus = () => options.onFocus?.();
    terminal.textarea?.addEventListener('focus', onFocus);
    this.cleanups.push(() => terminal.textarea?.removeEventListener('focus', onFocus));

    // Fit whenever the pane changes size: split drags, window resizes, tabs becoming visible.
    const observer = new ResizeObserver(() => this.scheduleFit());
    observer.observe(host);
    this.cleanups.push(() => observer.disconnect());
    this.fit();
  }

  getState(): TerminalState {
    return this.state;
  }

  get readOnly(): boolean {
    return this.options.readOnly ?? false;
  }

  // ---------------------------------------------------------------------------------------------
  // TerminalSlot: driven by the SandboxConnection
  // ---------------------------------------------------------------------------------------------

  async attach(client: LabClient, sandboxId: string, terminalId: string | undefined): Promise<string> {
    if (this.readOnly) throw new Error('A read-only terminal shows another terminal through watch(), not attach().');
    const seq = ++this.attachSeq;
    this.unbind();
    this.setState({ phase: 'attaching', terminalId });
    this.fit();
    const cols = clamp(this.terminal.cols, TERMINAL_LIMITS.minCols, TERMINAL_LIMITS.maxCols);
    const rows = clamp(this.terminal.rows, TERMINAL_LIMITS.minRows, TERMINAL_LIMITS.maxRows);
    let opened;
    try {
      opened = await client.request('terminal:open', { sandboxId, cols, rows, ...(terminalId ? { terminalId } : {}) });
    } catch (error) {
      if (seq === this.attachSeq && !this.disposed) this.setState({ phase: 'failed', message: (error as Error).message, terminalId });
      throw error;
    }
    if (seq !== this.attachSeq || this.disposed) return opened.terminalId;

    // Output for this terminal can only arrive after the answer (the server sends it from later
    // turns, and socket.io delivers in order), so subscribing here misses nothing.
    const id = opened.terminalId;
    const acks = new AckBatcher((chars) => client.send('terminal:ack', { terminalId: id, chars }));
    this.binding = {
      client,
      terminalId: id,
      acks,
      unsubscribe: [
        client.on('terminal:output', ({ terminalId: target, data }) => {
          if (target !== id || this.binding?.acks !== acks) return;
          this.terminal.write(data, () => acks.written(data.length));
        }),
        client.on('terminal:exit', ({ terminalId: target, exitCode }) => {
          if (target !== id || this.binding?.acks !== acks) return;
          acks.flush();
          this.setState({ phase: 'exited', terminalId: id, kind: opened.kind, message: exitMessage(opened.kind, exitCode) });
        }),
      ],
    };
    // The snapshot is the whole screen and scrollback as escape sequences; it goes into a
    // clean terminal so that a reload shows exactly what was there.
    this.terminal.reset();
    if (opened.snapshot) this.terminal.write(opened.snapshot);
    this.setState(
      opened.exited
        ? { phase: 'exited', terminalId: id, kind: opened.kind, message: exitMessage(opened.kind, null) }
        : { phase: 'live', terminalId: id, kind: opened.kind },
    );
    return id;
  }

  /**
   * Shows another session's terminal (read-only sessions only): its current screen at its own
   * size, then live output as it comes, acked so that the server keeps sending. The server stops
   * the stream by itself when the broadcast or spotlight ends; `detach()` stops showing it here.
   */
  watch(client: LabClient, mirror: MirrorInfo): void {
    if (!this.readOnly) throw new Error('Only a read-only terminal can watch another session’s terminal.');
    this.attachSeq++;
    this.unbind();
    const id = mirror.terminalId;
    const acks = new AckBatcher((chars) => client.send('terminal:ack', { terminalId: id, chars }));
    const current = () => this.binding?.acks === acks;
    this.binding = {
      client,
      terminalId: id,
      acks,
      unsubscribe: [
        client.on('terminal:output', ({ terminalId: target, data }) => {
          if (target !== id || !current()) return;
          this.terminal.write(data, () => acks.written(data.length));
        }),
        client.on('terminal:resized', ({ terminalId: target, cols, rows }) => {
          if (target !== id || !current()) return;
          // After the output that came before it, which was written at the old size.
          this.terminal.write('', () => {
            if (!current()) return;
            this.terminal.resize(cols, rows);
            this.zoomToFit();
          });
        }),
        client.on('terminal:exit', ({ terminalId: target }) => {
          if (target !== id || !current()) return;
          acks.flush();
          this.setState({ phase: 'exited', terminalId: id, message: 'This shell exited.' });
        }),
      ],
    };
    this.terminal.reset();
    this.terminal.resize(mirror.cols, mirror.rows);
    if (mirror.snapshot) this.terminal.write(mirror.snapshot);
    this.setState({ phase: 'live', terminalId: id });
    this.zoomToFit();
  }

  detach(reason: 'disconnected' | 'ended', message?: string): void {
    this.attachSeq++;
    this.unbind();
    if (this.state.phase === 'exited' && reason === 'ended') return;
    this.setState({ ...this.state, phase: reason === 'ended' ? 'exited' : 'waiting', message });
  }

  /** Types text as if the learner had: a Run button uses this. */
  type(data: string): boolean {
    if (!this.binding || this.state.phase !== 'live' || this.readOnly) return false;
    this.terminal.scrollToBottom();
    this.sendInput(data);
    return true;
  }

  focus(): void {
    this.terminal.focus();
  }

  // ---------------------------------------------------------------------------------------------
  // Display settings
  // ---------------------------------------------------------------------------------------------

  setFontSize(fontSize: number): void {
    // A mirror picks its own font size to fit the owner's screen into the pane.
    if (this.readOnly || this.terminal.options.fontSize === fontSize) return;
    this.terminal.options.fontSize = fontSize;
    this.fit();
  }

  setScreenReaderMode(enabled: boolean): void {
    this.terminal.options.screenReaderMode = enabled;
  }

  setTheme(theme: 'light' | 'dark'): void {
    this.terminal.options.theme = TERMINAL_THEMES[theme];
  }

  /** Sizes the terminal to its pane. A hidden pane (an inactive tab) is left as it is. */
  fit(): void {
    if (this.disposed || this.host.clientWidth === 0 || this.host.clientHeight === 0) return;
    if (this.readOnly) {
      this.zoomToFit();
      return;
    }
    const proposed = this.fitAddon.proposeDimensions();
    if (!proposed || !Number.isFinite(proposed.cols) || !Number.isFinite(proposed.rows)) return;
    if (proposed.cols < TERMINAL_LIMITS.minCols || proposed.rows < TERMINAL_LIMITS.minRows) return;
    this.fitAddon.fit();
  }

  // ---------------------------------------------------------------------------------------------
  // Reading the screen (tests, and the accessibility of Copy)
  // ---------------------------------------------------------------------------------------------

  /** Every line in the buffer, scrollback included, with wrapped lines joined. */
  text(): string {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let index = 0; index < buffer.length; index++) {
      const line = buffer.getLine(index);
      if (!line) continue;
      const text = line.translateToString(true);
      if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    return lines.join('\n').trimEnd();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    cancelAnimationFrame(this.fitFrame);
    cancelAnimationFrame(this.shrinkFrame);
    this.unbind();
    for (const cleanup of this.cleanups) cleanup();
    for (const disposable of this.disposables) disposable.dispose();
    this.terminal.dispose();
  }

  // ---------------------------------------------------------------------------------------------

  private loadWebgl(): void {
    try {
      const webgl = new WebglAddon();
      // A lost GPU context (driver reset, too many contexts) falls back to the DOM renderer.
      webgl.onContextLoss(() => {
        webgl.dispose();
        this.renderer = 'dom';
      });
      this.terminal.loadAddon(webgl);
      this.renderer = 'webgl';
    } catch {
      // No WebGL2 here (old GPU, disabled, headless): the built-in DOM renderer does the job.
      this.renderer = 'dom';
    }
  }

  /**
   * Ctrl+Shift+C copies the selection and Ctrl+Shift+V pastes, as in Linux terminals (plain
   * Ctrl+C must stay an interrupt). For paste we step aside and let the browser fire its own
   * paste event, which xterm.js handles: that needs no clipboard permission.
   */
  private onKey(event: KeyboardEvent): boolean {
    if (event.type !== 'keydown' || !event.ctrlKey || !event.shiftKey || event.altKey || event.metaKey) return true;
    if (event.code === 'KeyC') {
      event.preventDefault();
      if (this.terminal.hasSelection()) void copyText(this.terminal.getSelection());
      return false;
    }
    if (event.code === 'KeyV') return false;
    return true;
  }

  /**
   * Picks the font size at which the mirrored screen (the owner's cols × rows) fills the pane.
   * Cell size is proportional to the font size, so one measurement gives the factor; it runs
   * once per pane size and screen size, and the correction after it only ever shrinks, so it
   * cannot oscillate between two sizes.
   */
  private zoomToFit(): void {
    const area = this.mirrorArea();
    if (!area) return;
    const key = `${area.width}x${area.height}:${this.terminal.cols}x${this.terminal.rows}`;
    if (key === this.zoomedFor) return;
    this.zoomedFor = key;
    const current = this.terminal.options.fontSize ?? this.options.fontSize;
    const scale = Math.min(area.width / area.used.width, area.height / area.used.height);
    const next = clamp(Math.floor(current * scale * 2) / 2, MIN_MIRROR_FONT_SIZE, this.options.maxFontSize ?? 24);
    if (next !== current) this.terminal.options.fontSize = next;
    this.shrinkWhileOverflowing(4);
  }

  /** Cell sizes round to whole pixels, so the estimate can be a little too big: step down until it fits. */
  private shrinkWhileOverflowing(tries: number): void {
    cancelAnimationFrame(this.shrinkFrame);
    this.shrinkFrame = requestAnimationFrame(() => {
      const area = this.mirrorArea();
      const current = this.terminal.options.fontSize ?? this.options.fontSize;
      if (!area || tries === 0 || current <= MIN_MIRROR_FONT_SIZE) return;
      if (area.used.width <= area.width + 0.5 && area.used.height <= area.height + 0.5) return;
      this.terminal.options.fontSize = current - 0.5;
      this.shrinkWhileOverflowing(tries - 1);
    });
  }

  private mirrorArea(): { width: number; height: number; used: DOMRect } | undefined {
    const screen = this.terminal.element?.querySelector<HTMLElement>('.xterm-screen');
    const width = this.host.clientWidth - SCROLLBAR_WIDTH;
    const height = this.host.clientHeight;
    if (this.disposed || !screen || width <= 0 || height <= 0) return undefined;
    const used = screen.getBoundingClientRect();
    return used.width > 0 && used.height > 0 ? { width, height, used } : undefined;
  }

  private sendInput(data: string): void {
    const binding = this.binding;
    if (!binding || this.state.phase !== 'live' || this.readOnly) return;
    // A huge paste is split to fit the protocol's per-message limit; order is kept by the socket.
    for (let start = 0; start < data.length; start += MAX_INPUT_CHARS) {
      binding.client.send('terminal:input', { terminalId: binding.terminalId, data: data.slice(start, start + MAX_INPUT_CHARS) });
    }
  }

  private scheduleFit(): void {
    cancelAnimationFrame(this.fitFrame);
    this.fitFrame = requestAnimationFrame(() => this.fit());
  }

  private unbind(): void {
    const binding = this.binding;
    if (!binding) return;
    this.binding = undefined;
    binding.acks.dispose();
    for (const unsubscribe of binding.unsubscribe) unsubscribe();
  }

  private setState(state: TerminalState): void {
    this.state = state;
    this.options.onStateChange?.(state);
  }
}

function exitMessage(kind: 'run' | 'exec', exitCode: number | null): string {
  const code = exitCode === null || exitCode === 0 ? '' : ` (exit code ${exitCode})`;
  return kind === 'run' ? `The sandbox's main shell exited${code}, so the sandbox ended.` : `This shell exited${code}.`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Number.isFinite(value) ? value : min));
}
