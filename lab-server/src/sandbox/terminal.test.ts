import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLOW_CONTROL } from '../../../protocol';
import { FakePty } from '../runtime/fake-pty';
import { FIRST_SCREEN_MAX_CHARS, LabTerminal, type TerminalViewer } from './terminal';

/** A browser's end of a terminal: records what it was sent. */
function viewer(id: string, governsFlow: boolean) {
  const received: string[] = [];
  const exits: number[] = [];
  const view: TerminalViewer = { id, governsFlow, sendOutput: (data) => received.push(data), sendExit: (code) => exits.push(code) };
  return { view, received, exits, text: () => received.join('') };
}

/** Waits for `check` to pass: the screen mirror parses on a worker, which a busy machine may keep waiting. */
const until = (check: () => void) => vi.waitFor(check, { timeout: 30_000, interval: 20 });

const terminals: LabTerminal[] = [];
function terminal() {
  const pty = new FakePty();
  const made = new LabTerminal('term-aaaaaaaa', 'run', pty, { cols: 80, rows: 24 });
  terminals.push(made);
  return { pty, terminal: made };
}
afterEach(() => {
  for (const made of terminals.splice(0)) made.dispose();
});

/** A flood of distinct lines, `chars` long. */
const flood = (chars: number) => 'x'.repeat(99).concat('\n').repeat(Math.ceil(chars / 100)).slice(0, chars);

describe('LabTerminal flow control (fake pty, no root)', { timeout: 60_000 }, () => {
  it('pauses the pty while the owner is a high-water mark behind, and resumes once it acks', async () => {
    const { pty, terminal: term } = terminal();
    const owner = viewer('owner', true);
    await term.attach(owner.view);
    const sent = FLOW_CONTROL.highWaterChars + 64 * 1024;
    for (let at = 0; at < sent; at += 16 * 1024) pty.output(flood(16 * 1024));
    await until(() => expect(owner.text().length).toBe(sent));
    expect(pty.paused).toBe(true);

    term.ack('owner', sent - FLOW_CONTROL.lowWaterChars / 2);
    await until(() => expect(pty.paused).toBe(false));
  });

  it('never lets a read-only viewer slow the owner; a lagging one gets the screen once it catches up', async () => {
    const { pty, terminal: term } = terminal();
    const owner = viewer('owner', true);
    const follower = viewer('follower', false);
    await term.attach(owner.view);
    await term.attach(follower.view);
    const sent = FLOW_CONTROL.highWaterChars * 3;
    for (let at = 0; at < sent; at += 16 * 1024) {
      pty.output(flood(16 * 1024));
      // The owner keeps up; the follower never acks.
      await until(() => expect(owner.text().length).toBe(at + 16 * 1024));
      term.ack('owner', 16 * 1024);
    }
    pty.output('after-the-flood\n');
    await until(() => expect(owner.text()).toContain('after-the-flood'));
    // Once the mirror has parsed the flood, nothing holds the pty: the follower never acked.
    await until(() => expect(pty.paused).toBe(false));
    // The follower stopped getting output once it was far behind...
    expect(follower.text()).not.toContain('after-the-flood');
    expect(follower.text().length).toBeLessThan(sent);

    // ...and once it acks what it has, it gets the current screen instead of the backlog.
    term.ack('follower', follower.text().length);
    await until(() => expect(follower.received.at(-1)).toContain('after-the-flood'));
    expect(follower.received.at(-1)!.startsWith('\x1bc')).toBe(true);
  });

  it('gives a new viewer the screen so far, then the output after it, and the exit', async () => {
    const { pty, terminal: term } = terminal();
    pty.output('root@sbx-aaaaaaaa:~# echo before\r\nbefore\r\n');
    const late = viewer('late', true);
    const snapshot = await term.attach(late.view);
    expect(snapshot).toContain('before');
    pty.output('after\r\n');
    await until(() => expect(late.text()).toBe('after\r\n'));
    pty.exit(3);
    await until(() => expect(late.exits).toEqual([3]));
    expect(term.exit).toEqual({ exitCode: 3, signal: undefined });
  });

  it('gives the first viewer of a terminal nobody has looked at its output as it came (no mirror snapshot), and later viewers the parsed screen', async () => {
    const { pty, terminal: term } = terminal();
    // A carriage return overwrites: the screen is "Xbc", the output "abc\rX".
    pty.output('abc\rX');
    const first = viewer('first', true);
    expect(await term.attach(first.view)).toBe('abc\rX');
    pty.output('\r\nafter');
    await until(() => expect(first.text()).toBe('\r\nafter'));
    // Any later viewer (a reconnect, an instructor) gets the screen from the mirror.
    const second = viewer('second', true);
    const screen = await term.attach(second.view);
    expect(screen).toContain('Xbc');
    expect(screen).not.toContain('abc');
  });

  it('gives the first viewer the parsed screen once the output before it is larger than the first-screen bound', async () => {
    const { pty, terminal: term } = terminal();
    // The flood first: 'Xbc' must stay within the mirror's scrollback (MIRROR_SCROLLBACK lines).
    pty.output(flood(FIRST_SCREEN_MAX_CHARS));
    pty.output('\r\nabc\rX\r\n');
    const screen = await term.attach(viewer('first', true).view);
    expect(screen).toContain('Xbc');
    expect(screen).not.toContain('abc');
  });

  it("sends the owner's output before any follower's, whoever attached first", async () => {
    const { pty, terminal: term } = terminal();
    const order: string[] = [];
    const watcher = (id: string, governsFlow: boolean): TerminalViewer => ({ id, governsFlow, sendOutput: () => order.push(id), sendExit: () => undefined });
    for (let i = 0; i < 3; i++) await term.attach(watcher(`follower-${i}`, false));
    await term.attach(watcher('owner', true));
    pty.output('echo of a keystroke');
    await until(() => expect(order).toHaveLength(4));
    expect(order[0]).toBe('owner');
  });

  it('with nobody watching, keeps the screen up to a budget, then pauses until someone looks', async () => {
    const { pty, terminal: term } = terminal();
    for (let at = 0; at < 512 * 1024; at += 16 * 1024) pty.output(flood(16 * 1024));
    await until(() => expect(pty.paused).toBe(true));
    await term.attach(viewer('owner', true).view);
    await until(() => expect(pty.paused).toBe(false));
  });
});

describe('LabTerminal echo timing (for isolab_terminal_echo_seconds)', () => {
  it('times the first output after input, once, and output nobody typed for not at all', async () => {
    const pty = new FakePty();
    const echoes: Array<[number, number]> = [];
    const term = new LabTerminal('term-bbbbbbbb', 'run', pty, { cols: 80, rows: 24 }, { onEcho: (shellMs, sendMs) => echoes.push([shellMs, sendMs]) });
    terminals.push(term);
    const owner = viewer('owner', true);
    await term.attach(owner.view);
    pty.output('a program prints on its own\r\n');
    await until(() => expect(owner.text()).toContain('on its own'));
    expect(echoes).toEqual([]);

    term.write('x');
    await new Promise((resolve) => setTimeout(resolve, 20));
    pty.output('x');
    pty.output('more of the same batch');
    await until(() => expect(owner.text()).toContain('same batch'));
    pty.output('later output');
    await until(() => expect(owner.text()).toContain('later output'));
    expect(echoes).toHaveLength(1);
    const [shellMs, sendMs] = echoes[0];
    expect(shellMs).toBeGreaterThanOrEqual(15);
    expect(sendMs).toBeGreaterThanOrEqual(0);
  });
});
