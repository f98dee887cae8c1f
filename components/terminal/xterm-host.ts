/**
 * What every terminal on the page has, whoever it belongs to: an xterm.js instance in a host
 * element, its addons (fit, unicode 11, links, WebGL with a DOM fallback), the theme, copy and
 * paste keys, refitting when the pane changes size, and one list of everything to dispose.
 *
 * The learner's own terminal (OwnedTerminal) and a read-only view of someone else's
 * (MirrorTerminal) are built on it; they differ only in what they do with the socket and with
 * the pane's size. Kept out of React, as ttyd does: a view only creates one and disposes it.
 */
import { Terminal, type IDisposable, type ITerminalOptions } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { copyText } from '../ui/clipboard';
import { paneSize, type TerminalFont } from './pane-size';
import { TERMINAL_FONT_FAMILY, TERMINAL_THEMES } from './terminal-themes';

export type TerminalPhase = 'waiting' | 'attaching' | 'live' | 'exited' | 'failed';

export interface TerminalState {
  phase: TerminalPhase;
  /** Why it is not live, in words a learner can act on. */
  message?: string;
  terminalId?: string;
}

/** The display settings a learner picks; read when a terminal is made, changed through setters after. */
export interface TerminalSettings {
  fontSize: number;
  screenReaderMode: boolean;
  theme: 'light' | 'dark';
}

export interface XtermHostOptions extends TerminalSettings {
  /** A read-only terminal: no cursor blink, no stdin. */
  readOnly?: boolean;
  /** The pane changed size (debounced to one call per frame). */
  onPaneResize(): void;
}

export class XtermHost {
  readonly terminal: Terminal;
  readonly fitAddon = new FitAddon();
  /** 'webgl' once the GPU renderer has loaded, 'dom' before that and when it fell back. */
  renderer: 'webgl' | 'dom' = 'dom';
  private readonly disposables: IDisposable[] = [];
  private fitFrame = 0;
  private gpuRequested = false;
  private disposed = false;

  constructor(
    readonly element: HTMLElement,
    options: XtermHostOptions,
  ) {
    const font: TerminalFont = { fontFamily: TERMINAL_FONT_FAMILY, fontSize: options.fontSize, lineHeight: 1.15 };
    const terminalOptions: ITerminalOptions = {
      ...font,
      // Made at the pane's size, the first fit has nothing to change (pane-size.ts).
      ...paneSize(element, font),
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
    };
    const terminal = (this.terminal = new Terminal(terminalOptions));
    terminal.loadAddon(this.fitAddon);
    terminal.loadAddon(new Unicode11Addon());
    terminal.unicode.activeVersion = '11';
    terminal.loadAddon(
      new WebLinksAddon((event, uri) => {
        event.preventDefault();
        window.open(uri, '_blank', 'noopener,noreferrer');
      }),
    );
    terminal.open(element);
    terminal.attachCustomKeyEventHandler((event) => this.onKey(event));

    // Fit whenever the pane changes size: split drags, window resizes, tabs becoming visible.
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(this.fitFrame);
      this.fitFrame = requestAnimationFrame(() => !this.disposed && options.onPaneResize());
    });
    observer.observe(element);
    this.own({ dispose: () => observer.disconnect() });
  }

  /** Disposed with the host. */
  own(...disposables: IDisposable[]): void {
    this.disposables.push(...disposables);
  }

  /** The pane has no size (an inactive tab, a collapsed panel): nothing to fit to. */
  get hidden(): boolean {
    return this.disposed || this.element.clientWidth === 0 || this.element.clientHeight === 0;
  }

  setScreenReaderMode(enabled: boolean): void {
    this.terminal.options.screenReaderMode = enabled;
  }

  setTheme(theme: 'light' | 'dark'): void {
    this.terminal.options.theme = TERMINAL_THEMES[theme];
  }

  /** Every line in the buffer, scrollback included, with wrapped lines joined (tests, and the accessibility of Copy). */
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
    for (const disposable of this.disposables.splice(0).reverse()) disposable.dispose();
    this.terminal.dispose();
  }

  /**
   * Switches to the GPU renderer once the terminal has painted and the page is idle: the DOM
   * renderer paints the first prompt, and the switch after is seamless. The addon is its own
   * chunk, and making a WebGL context costs the main thread, so neither may come before the
   * prompt. Later calls do nothing.
   */
  loadGpuRenderer(): void {
    if (this.gpuRequested || this.disposed) return;
    this.gpuRequested = true;
    const painted = this.terminal.onRender(() => {
      painted.dispose();
      const idle = window.requestIdleCallback ?? ((callback: () => void) => setTimeout(callback, 200));
      idle(() => this.switchToGpu(), { timeout: 3000 });
    });
    this.own(painted);
  }

  private switchToGpu(): void {
    if (this.disposed) return;
    // Software WebGL costs more than the DOM renderer: then the chunk is not even loaded.
    if (webglIsSoftware()) {
      this.renderer = 'dom';
      return;
    }
    import('@xterm/addon-webgl')
      .then(({ WebglAddon }) => {
        if (this.disposed) return;
        const webgl = new WebglAddon();
        // A lost GPU context (driver reset, too many contexts) falls back to the DOM renderer.
        webgl.onContextLoss(() => {
          webgl.dispose();
          this.renderer = 'dom';
        });
        this.terminal.loadAddon(webgl);
        this.renderer = 'webgl';
      })
      .catch(() => {
        // No WebGL2 here (old GPU, disabled, headless), or the chunk did not load: the built-in DOM renderer does the job.
        this.renderer = 'dom';
      });
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
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Number.isFinite(value) ? value : min));
}

let softwareWebgl: boolean | undefined;

/**
 * True when WebGL would be drawn by the CPU (SwiftShader or llvmpipe: a PC or VM without a usable
 * GPU, or a headless browser). There the DOM renderer is cheaper, and Chromium draws every tab's
 * WebGL in one shared GPU process: on a busy 2-core machine a few terminals drawn that way held a
 * page's frames back for seconds. Asked once per page.
 */
function webglIsSoftware(): boolean {
  if (softwareWebgl !== undefined) return softwareWebgl;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
    softwareWebgl = !gl || /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    softwareWebgl = true;
  }
  return softwareWebgl;
}
