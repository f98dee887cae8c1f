import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { describe, expect, it } from 'vitest';
import { MIRROR_HISTORY, MIRROR_SCROLLBACK, ScreenMirror } from './screen-mirror';

const { Terminal } = headless;
const { SerializeAddon } = serialize;

/** A terminal with room for every line, after `data`, as a browser's tab would be. */
async function terminalAfter(data: string, cols: number, rows: number, scrollback = 100_000) {
  const terminal = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
  const serializer = new SerializeAddon();
  terminal.loadAddon(serializer as never);
  await new Promise<void>((resolve) => terminal.write(data, resolve));
  return { terminal, serializer };
}

async function snapshotAfter(data: string, cols: number, rows: number, then?: (mirror: ScreenMirror) => void): Promise<string> {
  const mirror = new ScreenMirror(cols, rows);
  for (let i = 0; i < data.length; i += 32 * 1024) mirror.write(data.slice(i, i + 32 * 1024));
  then?.(mirror);
  const snapshot = await mirror.snapshot();
  mirror.dispose();
  return snapshot;
}

/** The text of every line of the normal buffer, scrollback first. */
function lines(terminal: InstanceType<typeof Terminal>): string[] {
  const buffer = terminal.buffer.normal;
  return Array.from({ length: buffer.length }, (_, y) => buffer.getLine(y)!.translateToString(true));
}

/** The snapshot's history: what comes before the part the mirror's own terminal serializes. */
async function historyPart(data: string, cols: number, rows: number): Promise<{ snapshot: string; history: string }> {
  const snapshot = await snapshotAfter(data, cols, rows);
  // The mirror's terminal keeps MIRROR_SCROLLBACK lines itself and serializes them as a terminal
  // of that scrollback does; the history is written before it.
  const own = await terminalAfter(data, cols, rows, MIRROR_SCROLLBACK);
  const tail = own.serializer.serialize({ scrollback: MIRROR_SCROLLBACK });
  expect(snapshot.endsWith(tail)).toBe(true);
  return { snapshot, history: snapshot.slice(0, snapshot.length - tail.length) };
}

const numbered = (count: number, text: (i: number) => string) => Array.from({ length: count }, (_, i) => text(i)).join('\r\n');

describe('the screen mirror history (lines the mirror terminal drops, kept compact)', () => {
  it('gives a reload back far more lines than the terminal keeps, in order, with their colours, wraps and wide characters', async () => {
    const count = 600;
    const data = numbered(count, (i) => `\x1b[3${i % 8};4${(i + 3) % 8}m${i % 5 === 0 ? '\x1b[1;38;2;10;200;30m' : ''}line ${i}\x1b[0m ${i % 7 === 0 ? '字'.repeat(70) : 'x'.repeat(i % 40)}`) + '\r\n$ ';
    const cols = 80;
    const rows = 24;
    const restored = await terminalAfter(await snapshotAfter(data, cols, rows), cols, rows);
    const full = await terminalAfter(data, cols, rows);
    // Every line came back: the browser's buffer after the snapshot is the one that saw it all.
    expect(restored.terminal.buffer.normal.length).toBe(full.terminal.buffer.normal.length);
    expect(restored.terminal.buffer.normal.length - rows).toBeGreaterThan(MIRROR_SCROLLBACK + 300);
    expect(restored.serializer.serialize()).toBe(full.serializer.serialize());
    expect(lines(restored.terminal).filter((line) => line.startsWith('line ')).map((line) => Number(line.split(' ')[1]))).toEqual(Array.from({ length: count }, (_, i) => i));
  }, 60_000);

  it('is capped in chars: a flood of lines in attribute soup at the widest screen keeps no more than the cap', async () => {
    const cols = 300;
    const soup = (i: number) => Array.from({ length: cols }, (_, x) => `\x1b[1;3;4;9;53;38;2;${x};${i % 256};7;48;2;${i % 256};${x % 256};9m${String.fromCharCode(0x100 + ((x + i) % 500))}`).join('');
    // A short screen, so that a few lines of soup (a megabyte, parsed within the terminal's CPU burst) reach the history.
    const { history } = await historyPart(numbered(MIRROR_SCROLLBACK + 20, soup) + '\x1b[0m\r\n$ ', cols, 5);
    expect(history.length).toBeGreaterThan(MIRROR_HISTORY.chars / 2);
    expect(history.length).toBeLessThanOrEqual(MIRROR_HISTORY.chars);
  }, 60_000);

  it('is capped in lines: a flood of short lines keeps the last MIRROR_HISTORY.rows lines dropped by the terminal', async () => {
    const { history } = await historyPart(numbered(20_000, (i) => `${i}`) + '\r\n', 80, 24);
    const kept = history.slice(0, -2).split('\r\n');
    // The history holds the terminal's top line too, before the terminal drops it.
    expect(kept.length).toBe(MIRROR_HISTORY.rows - 1);
    // The terminal holds the last rows + MIRROR_SCROLLBACK lines (the last one empty); the history the ones before.
    const newest = 20_000 - (24 - 1) - MIRROR_SCROLLBACK - 1;
    expect(kept.at(-1)).toBe(String(newest));
    expect(kept[0]).toBe(String(newest - MIRROR_HISTORY.rows + 2));
  }, 60_000);

  it('keeps nothing of a full-screen program (the alternate screen), and the lines from before and after it', async () => {
    const data = numbered(300, (i) => `before ${i}`) + '\r\n\x1b[?1049h\x1b[H\x1b[2J' + numbered(500, (i) => `inside less ${i}`) + '\x1b[?1049l' + numbered(300, (i) => `after ${i}`) + '\r\n';
    const snapshot = await snapshotAfter(data, 80, 24);
    expect(snapshot).not.toContain('inside less');
    const restored = await terminalAfter(snapshot, 80, 24);
    const full = await terminalAfter(data, 80, 24);
    expect(lines(restored.terminal)).toEqual(lines(full.terminal));
    expect(lines(restored.terminal)[0]).toBe('before 0');
  }, 60_000);

  it('is emptied by clear (ESC [ 3 J) and by a reset (ESC c)', async () => {
    for (const clear of ['\x1b[H\x1b[2J\x1b[3J', '\x1bc']) {
      const snapshot = await snapshotAfter(numbered(800, (i) => `old ${i}`) + '\r\n' + clear + numbered(60, (i) => `new ${i}`) + '\r\n', 80, 24);
      expect(snapshot).not.toContain('old');
      const restored = await terminalAfter(snapshot, 80, 24);
      expect(lines(restored.terminal)[0]).toBe('new 0');
    }
  }, 60_000);

  it('keeps the lines from before a resize, in order', async () => {
    const snapshot = await snapshotAfter(numbered(400, (i) => `line ${i}`) + '\r\n', 80, 24, (mirror) => {
      mirror.resize(120, 30);
      mirror.write(numbered(100, (i) => `line ${400 + i}`) + '\r\n');
    });
    const restored = await terminalAfter(snapshot, 120, 30);
    const numbers = lines(restored.terminal).filter((line) => line.startsWith('line ')).map((line) => Number(line.split(' ')[1]));
    expect(numbers).toEqual(Array.from({ length: 500 }, (_, i) => i));
  }, 60_000);
});
