import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { describe, expect, it, vi } from 'vitest';
import { TERMINAL_LIMITS } from '../../../protocol';
import { boundCounts, MIRROR_SCROLLBACK, ScreenMirror, splitUnfinishedEscape, trimPlainRuns } from './screen-mirror';

const { Terminal } = headless;
const { SerializeAddon } = serialize;

/** A terminal of this size with room for every line, after `data`. */
async function terminalAfter(data: string, cols: number, rows: number) {
  const terminal = new Terminal({ cols, rows, scrollback: 100_000, allowProposedApi: true });
  const serializer = new SerializeAddon();
  terminal.loadAddon(serializer as never);
  await new Promise<void>((resolve) => terminal.write(data, resolve));
  return { terminal, serializer };
}

/**
 * What a browser shows after writing the mirror's snapshot into a reset terminal (`restored`), and
 * what a terminal that parsed all of `data` untrimmed shows over as many lines (`reference`), both
 * serialized; `above` is the count of lines the snapshot gave back above the screen.
 */
async function restoredAndReference(data: string, cols: number, rows: number) {
  const restored = await terminalAfter(await mirrored(data, cols, rows), cols, rows);
  const above = restored.terminal.buffer.normal.length - rows;
  const full = await terminalAfter(data, cols, rows);
  return { restored: restored.serializer.serialize({ scrollback: above }), reference: full.serializer.serialize({ scrollback: above }), above };
}

async function mirrored(data: string, cols: number, rows: number): Promise<string> {
  const mirror = new ScreenMirror(cols, rows);
  // Feed in pty-sized chunks, as the terminal does.
  for (let i = 0; i < data.length; i += 32 * 1024) mirror.write(data.slice(i, i + 32 * 1024));
  const snapshot = await mirror.snapshot();
  mirror.dispose();
  return snapshot;
}

describe('ScreenMirror', () => {
  it('restores exactly what a full terminal shows after a flood of plain lines', async () => {
    const flood = 'prompt$ \x1b[1;32mgreen\x1b[0m\r\n' + Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 90)}`).join('\r\n') + '\r\n\x1b[33mdone\x1b[0m $ ';
    const { restored, reference, above } = await restoredAndReference(flood, 80, 24);
    expect(restored).toBe(reference);
    // No fewer lines than the 300 the mirror kept as xterm.js cells before its compact history.
    expect(above).toBeGreaterThanOrEqual(300);
  }, 60_000);

  it('keeps colours and modes set before a flood', async () => {
    const data = '\x1b[?1049h\x1b[2J\x1b[44m' + 'y\r\n'.repeat(50_000) + 'end';
    const { restored, reference } = await restoredAndReference(data, 100, 30);
    expect(restored).toBe(reference);
  }, 60_000);

  it('restores exactly what a full terminal shows when counts too large to matter were clamped', async () => {
    // Counts a full terminal can still parse in a second or so; the mirror clamps them.
    const data = 'a\r\n'.repeat(30) + 'top\r\n\x1b[2;5Hmid\x1b[20000S\x1b[3;1Hafter\x1b[99999@x\x1b[12;1H\x1b[20000Lend\x1b[5;60H\x1b[99999Dleft';
    const { restored, reference } = await restoredAndReference(data, 80, 24);
    expect(restored).toBe(reference);
  }, 60_000);

  it('throttles a terminal whose parsing is expensive, and catches up later', async () => {
    const mirror = new ScreenMirror(300, 100);
    // Screen-wide work for a few bytes (DECALN and scrolls of a thousand lines), kept queued as a
    // flooding sandbox would keep it: parsing at full speed spends more than the terminal's share,
    // so its burst runs out within seconds however fast this machine parses. A fixed amount
    // would be more than the burst on a slow or busy machine only.
    for (let round = 0; !mirror.isThrottled; round++) {
      if (round === 3000) throw new Error('the mirror parsed expensive output for a minute without being throttled');
      if (mirror.pendingChars < 20_000) mirror.write('\x1b#8\x1b[1000S'.repeat(50));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await mirror.snapshot();
    mirror.write('\x1b[Hcaught up');
    const snapshot = await mirror.snapshot();
    await vi.waitFor(() => expect(mirror.isBehind('low')).toBe(false), { timeout: 30_000 });
    expect(mirror.cpuMs).toBeGreaterThan(0);
    expect(snapshot).toContain('caught up');
    mirror.dispose();
  }, 120_000);

  it("serves terminals in turn: each quiet terminal's screen is ready while a busy one still parses its backlog", async () => {
    const busy = new ScreenMirror(300, 100);
    const quiet = Array.from({ length: 3 }, () => new ScreenMirror(80, 24));
    // Seconds of screen-wide work (see above), handed to the worker before the quiet terminals type.
    busy.write('\x1b#8\x1b[1000S'.repeat(1000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const screens = await Promise.all(
      quiet.map((mirror, i) => {
        mirror.write(`$ echo ${i}\r\n${i}\r\n$ `);
        return mirror.snapshot();
      }),
    );
    // Served in turn with the busy one, not after it had spent its budget.
    expect(busy.pendingChars).toBeGreaterThan(0);
    expect(busy.isThrottled).toBe(false);
    screens.forEach((screen, i) => expect(screen).toContain(`$ echo ${i}`));
    for (const mirror of [busy, ...quiet]) mirror.dispose();
  }, 60_000);

  it('drops a backlog that would take seconds to parse, and says so on the screen', async () => {
    const mirror = new ScreenMirror(300, 100);
    // What a pty could deliver before the cost of this output is known: 400k chars of it.
    for (let i = 0; i < 40; i++) mirror.write('\x1b#8\x1b[999S\x1b[99999999L'.repeat(400));
    const snapshot = await mirror.snapshot();
    expect(snapshot).toContain('lab-server skipped output that cost too much to keep for a reconnect');
    expect(mirror.pendingChars).toBe(0);
    mirror.dispose();
  }, 120_000);
});

describe('boundCounts', () => {
  it('clamps the counts of scrolls, inserts, repeats and moves, and nothing else', () => {
    // The most that can matter: the largest screen's rows plus the mirror's scrollback.
    const most = TERMINAL_LIMITS.maxRows + MIRROR_SCROLLBACK;
    expect(boundCounts('a\x1b[2147483647Sb\x9b99999L\x1b[5;123456H\x1b[123456d')).toBe(`a\x1b[${most}Sb\x9b${most}L\x1b[5;123456H\x1b[${most}d`);
    expect(boundCounts(`\x1b[38;2;255;255;255m\x1b[?2004h\x1b[${most - 1}S\x1b[4000S`)).toBe(`\x1b[38;2;255;255;255m\x1b[?2004h\x1b[${most - 1}S\x1b[${most}S`);
  });

  it('holds back a sequence cut by the end of a chunk, shortened', () => {
    expect(splitUnfinishedEscape('abc\x1b[12')).toEqual({ text: 'abc', tail: '\x1b[12' });
    expect(splitUnfinishedEscape('abc\x1b[' + '9'.repeat(5000))).toEqual({ text: 'abc', tail: '\x1b[99999' });
    expect(splitUnfinishedEscape('abc\x1b[12m')).toEqual({ text: 'abc\x1b[12m', tail: '' });
  });
});

describe('trimPlainRuns', () => {
  it('shortens a long plain run to its first and last lines, cutting after line breaks', () => {
    const run = Array.from({ length: 100 }, (_, i) => `l${i}`).join('\r\n');
    expect(trimPlainRuns(run, 3)).toBe('l0\r\nl97\r\nl98\r\nl99');
  });

  it('never cuts into the rest of an escape sequence that starts a run', () => {
    const data = '\x1b[44m' + 'y\r\n'.repeat(20) + 'end';
    expect(trimPlainRuns(data, 3)).toBe('\x1b[44my\r\ny\r\ny\r\nend');
  });

  it('leaves runs with escape sequences in between intact around them', () => {
    const run = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`).join('\r\n') + '\r\n';
    const data = run(50) + '\x1b[31m' + run(2) + '\x1b[0m';
    expect(trimPlainRuns(data, 3)).toBe('a0\r\na48\r\na49\r\n\x1b[31m' + run(2) + '\x1b[0m');
  });

  it('does not touch short chunks, such as keystroke echoes', () => {
    expect(trimPlainRuns('x', 1025)).toBe('x');
  });
});
