/**
 * A read-only terminal showing someone else's: the instructor's broadcast to a learner, or a
 * learner's screen to the instructor. `watch()` gives it the screen and the live output; it acks
 * like any terminal but never sends input, and its size is the owner's, so it scales its font to
 * fit the pane instead of resizing the pty.
 */
import type { LabClient } from '../../lib/lab-client';
import type { Mirror } from '../../protocol';
import { Store, type ReadableStore } from '../state/store';
import { OutputStream } from './output-stream';
import { clamp, XtermHost, type TerminalSettings, type TerminalState } from './xterm-host';

export interface MirrorTerminalOptions extends TerminalSettings {
  /** The largest font its zoom-to-fit may pick. */
  maxFontSize?: number;
}

const MIN_FONT_SIZE = 7;
/** What fit() leaves for xterm's scrollbar (the fit addon's own allowance). */
const SCROLLBAR_WIDTH = 14;

export class MirrorTerminal {
  readonly host: XtermHost;
  private readonly stateStore = new Store<TerminalState>({ phase: 'waiting' });
  private stream: OutputStream | undefined;
  private shrinkFrame = 0;
  /** The pane and screen size the font was last fitted to, so a fit happens once per change. */
  private zoomedFor = '';
  private disposed = false;

  constructor(
    element: HTMLElement,
    private readonly options: MirrorTerminalOptions,
  ) {
    this.host = new XtermHost(element, { ...options, readOnly: true, onPaneResize: () => this.fit() });
    this.host.loadGpuRenderer();
    this.fit();
  }

  /** Where it is: waiting, live or exited (what its view shows). */
  get state(): ReadableStore<TerminalState> {
    return this.stateStore;
  }

  /**
   * Shows another session's terminal: its current screen at its own size, then live output as it
   * comes, acked so that the server keeps sending. The server stops the stream by itself when the
   * broadcast or spotlight ends; `detach()` stops showing it here.
   */
  watch(client: LabClient, mirror: Mirror): void {
    this.unbind();
    const { terminal } = this.host;
    const id = mirror.terminalId;
    this.stream = new OutputStream(client, id, terminal, {
      onExit: () => this.setState({ phase: 'exited', terminalId: id, message: 'This shell exited.' }),
      onResized: (cols, rows) => {
        terminal.resize(cols, rows);
        this.fit();
      },
    });
    terminal.reset();
    terminal.resize(mirror.cols, mirror.rows);
    if (mirror.snapshot) terminal.write(mirror.snapshot);
    this.setState({ phase: 'live', terminalId: id });
    this.fit();
  }

  detach(reason: 'disconnected' | 'ended', message?: string): void {
    this.unbind();
    const state = this.stateStore.get();
    if (state.phase === 'exited' && reason === 'ended') return;
    this.setState({ ...state, phase: reason === 'ended' ? 'exited' : 'waiting', message });
  }

  /**
   * Picks the font size at which the mirrored screen (the owner's cols × rows) fills the pane.
   * Cell size is proportional to the font size, so one measurement gives the factor; it runs
   * once per pane size and screen size, and the correction after it only ever shrinks, so it
   * cannot oscillate between two sizes.
   */
  fit(): void {
    if (this.disposed || this.host.hidden) return;
    const area = this.area();
    if (!area) return;
    const { terminal } = this.host;
    const key = `${area.width}x${area.height}:${terminal.cols}x${terminal.rows}`;
    if (key === this.zoomedFor) return;
    this.zoomedFor = key;
    const current = terminal.options.fontSize ?? this.options.fontSize;
    const scale = Math.min(area.width / area.used.width, area.height / area.used.height);
    const next = clamp(Math.floor(current * scale * 2) / 2, MIN_FONT_SIZE, this.options.maxFontSize ?? 24);
    if (next !== current) terminal.options.fontSize = next;
    this.shrinkWhileOverflowing(4);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    cancelAnimationFrame(this.shrinkFrame);
    this.unbind();
    this.host.dispose();
    this.stateStore.close();
  }

  /** Cell sizes round to whole pixels, so the estimate can be a little too big: step down until it fits. */
  private shrinkWhileOverflowing(tries: number): void {
    cancelAnimationFrame(this.shrinkFrame);
    this.shrinkFrame = requestAnimationFrame(() => {
      const area = this.area();
      const { terminal } = this.host;
      const current = terminal.options.fontSize ?? this.options.fontSize;
      if (!area || tries === 0 || current <= MIN_FONT_SIZE) return;
      if (area.used.width <= area.width + 0.5 && area.used.height <= area.height + 0.5) return;
      terminal.options.fontSize = current - 0.5;
      this.shrinkWhileOverflowing(tries - 1);
    });
  }

  private area(): { width: number; height: number; used: DOMRect } | undefined {
    const screen = this.host.terminal.element?.querySelector<HTMLElement>('.xterm-screen');
    const width = this.host.element.clientWidth - SCROLLBAR_WIDTH;
    const height = this.host.element.clientHeight;
    if (this.disposed || !screen || width <= 0 || height <= 0) return undefined;
    const used = screen.getBoundingClientRect();
    return used.width > 0 && used.height > 0 ? { width, height, used } : undefined;
  }

  private unbind(): void {
    this.stream?.dispose();
    this.stream = undefined;
  }

  private setState(state: TerminalState): void {
    this.stateStore.set(state);
  }
}
