/**
 * The size in characters a terminal takes in its pane, worked out before its xterm exists, so the
 * xterm is made at that size (`new Terminal({ cols, rows })`) and the fit that follows changes
 * nothing. Made at xterm's default 80×24 and then fitted, a new terminal was resized on the first
 * prompt's path, and xterm.js redraws every row on a resize (a quarter of the main-thread task that
 * makes the terminal, in a trace of a click from the course map).
 *
 * The figures are the ones the fit addon reaches, by the same arithmetic: the character cell as
 * xterm.js's CharSizeService measures it (the canvas text metrics of a "W"), scaled to a cell as
 * the DOM renderer does (device pixels, rounded over the whole row), and the pane's box as
 * @xterm/addon-fit reads it (its computed width less the scrollbar, its computed height). Where
 * the browser has no canvas text metrics xterm.js measures in the DOM instead, and this returns
 * nothing: the terminal is made at the default size and fitted, as before. Should the figures ever
 * differ from the addon's (a new xterm.js), the fit after corrects them; only the time is lost.
 */
import type { TerminalSize } from '../../protocol/common';

export interface TerminalFont {
  fontFamily: string;
  fontSize: number;
  lineHeight: number;
}

/** The fit addon's room for the scrollbar (xterm.js's ViewportConstants.DEFAULT_SCROLL_BAR_WIDTH), with scrollback on. */
const SCROLLBAR_WIDTH = 14;
/** Below these the fit addon does not go. */
const MIN_COLS = 2;
const MIN_ROWS = 1;

/** The terminal size that fills `pane`, or undefined when it cannot be known ahead (no size yet, no canvas metrics). */
export function paneSize(pane: HTMLElement, font: TerminalFont): TerminalSize | undefined {
  const char = measureChar(font);
  if (!char) return undefined;
  const style = window.getComputedStyle(pane);
  const box = { width: Math.max(0, parseInt(style.width)) - SCROLLBAR_WIDTH, height: parseInt(style.height) };
  if (!(box.width > 0 && box.height > 0)) return undefined;
  return cellGrid(box, char, font.lineHeight, window.devicePixelRatio || 1);
}

/**
 * How many cells of a `char`-sized character fit in `box` (CSS pixels), as xterm.js's DOM renderer
 * sizes a cell and the fit addon divides the box. A cell's CSS width is the row's rounded width over
 * its columns, so it shifts a little with the column count: the count is worked out again from the
 * one it gives until it stays put (the size at which a fit changes nothing), from xterm's default.
 */
export function cellGrid(box: { width: number; height: number }, char: { width: number; height: number }, lineHeight: number, dpr: number): TerminalSize {
  const deviceCell = { width: char.width * dpr, height: Math.floor(Math.ceil(char.height * dpr) * lineHeight) };
  let size: TerminalSize = { cols: 80, rows: 24 };
  for (let round = 0; round < 4; round++) {
    const cell = {
      width: Math.round((deviceCell.width * size.cols) / dpr) / size.cols,
      height: Math.round((deviceCell.height * size.rows) / dpr) / size.rows,
    };
    const next = { cols: Math.max(MIN_COLS, Math.floor(box.width / cell.width)), rows: Math.max(MIN_ROWS, Math.floor(box.height / cell.height)) };
    if (next.cols === size.cols && next.rows === size.rows) break;
    size = next;
  }
  return size;
}

let canvas: OffscreenCanvasRenderingContext2D | null | undefined;

/** A character's width and height as xterm.js's TextMetricsMeasureStrategy measures it. */
function measureChar(font: TerminalFont): { width: number; height: number } | undefined {
  if (canvas === undefined) {
    try {
      canvas = typeof OffscreenCanvas === 'undefined' ? null : new OffscreenCanvas(100, 100).getContext('2d');
    } catch {
      canvas = null;
    }
  }
  if (!canvas) return undefined;
  canvas.font = `${font.fontSize}px ${font.fontFamily}`;
  const metrics = canvas.measureText('W');
  if (!('fontBoundingBoxAscent' in metrics)) return undefined;
  const char = { width: metrics.width, height: metrics.fontBoundingBoxAscent + metrics.fontBoundingBoxDescent };
  return char.width > 0 && char.height > 0 ? char : undefined;
}
