import { describe, expect, it } from 'vitest';
import { cellGrid } from './pane-size';

/**
 * What @xterm/addon-fit proposes for a terminal of `size` in `box`: the DOM renderer's cell in CSS
 * pixels (the row's and the screen's rounded size over the count) into the box, rounded down.
 */
function fitProposes(box: { width: number; height: number }, char: { width: number; height: number }, lineHeight: number, dpr: number, size: { cols: number; rows: number }) {
  const deviceWidth = char.width * dpr * size.cols;
  const deviceHeight = Math.floor(Math.ceil(char.height * dpr) * lineHeight) * size.rows;
  const cell = { width: Math.round(deviceWidth / dpr) / size.cols, height: Math.round(deviceHeight / dpr) / size.rows };
  return { cols: Math.floor(box.width / cell.width), rows: Math.floor(box.height / cell.height) };
}

describe('cellGrid', () => {
  it('gives the size at which a fit changes nothing, at any zoom and character size', () => {
    for (const dpr of [1, 1.25, 1.5, 2, 0.9]) {
      for (const char of [
        { width: 7.2246, height: 16 },
        { width: 8.4287, height: 17.5 },
        { width: 9.6, height: 19 },
      ]) {
        for (const width of [300, 641, 1006, 1500]) {
          const box = { width, height: width * 0.6 };
          const size = cellGrid(box, char, 1.15, dpr);
          expect(fitProposes(box, char, 1.15, dpr, size), JSON.stringify({ dpr, char, box })).toEqual(size);
        }
      }
    }
  });

  it('fills the box with whole cells', () => {
    // 10 px characters at 1.15 line height: 18 px rows (ceil(16) * 1.15, rounded down).
    expect(cellGrid({ width: 805, height: 400 }, { width: 10, height: 16 }, 1.15, 1)).toEqual({ cols: 80, rows: 22 });
    expect(cellGrid({ width: 1000, height: 360 }, { width: 10, height: 16 }, 1.15, 1)).toEqual({ cols: 100, rows: 20 });
  });

  it('never goes below the fit addon\'s smallest terminal', () => {
    expect(cellGrid({ width: 5, height: 5 }, { width: 10, height: 16 }, 1.15, 1)).toEqual({ cols: 2, rows: 1 });
  });
});
