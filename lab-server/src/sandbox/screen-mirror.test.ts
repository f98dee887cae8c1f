import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { describe, expect, it } from 'vitest';
import { MIRROR_SCROLLBACK, ScreenMirror, trimPlainRuns } from './screen-mirror';

const { Terminal } = headless;
const { SerializeAddon } = serialize;

/** What a full terminal with the mirror's scrollback shows after `data`, parsed untrimmed. */
async function reference(data: string, cols: number, rows: number): Promise<string> {
  const terminal = new Terminal({ cols, rows, scrollback: MIRROR_SCROLLBACK, allowProposedApi: true });
  const serializer = new SerializeAddon();
  terminal.loadAddon(serializer as never);
  await new Promise<void>((resolve) => terminal.write(data, resolve));
  return serializer.serialize({ scrollback: MIRROR_SCROLLBACK });
}

async function mirrored(data: string, cols: number, rows: number): Promise<string> {
  const mirror = new ScreenMirror(cols, rows);
  // Feed in pty-sized chunks, as the terminal does.
  for (let i = 0; i < data.length; i += 32 * 1024) mirror.write(data.slice(i, i + 32 * 1024));
  await mirror.drain();
  return mirror.snapshot();
}

describe('ScreenMirror', () => {
  it('restores exactly what a full terminal shows after a flood of plain lines', async () => {
    const flood = 'prompt$ \x1b[1;32mgreen\x1b[0m\r\n' + Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 90)}`).join('\r\n') + '\r\n\x1b[33mdone\x1b[0m $ ';
    expect(await mirrored(flood, 80, 24)).toBe(await reference(flood, 80, 24));
  });

  it('keeps colours and modes set before a flood', async () => {
    const data = '\x1b[?1049h\x1b[2J\x1b[44m' + 'y\r\n'.repeat(50_000) + 'end';
    expect(await mirrored(data, 100, 30)).toBe(await reference(data, 100, 30));
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
