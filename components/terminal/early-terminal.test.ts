import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeLabClient } from '../../lib/fake-lab-client';
import { LabRequestError } from '../../lib/lab-client';
import { FLOW_CONTROL } from '../../protocol/flow-control';
import { ACK_IDLE_MS } from './ack-batcher';
import { EarlyTerminal, HELD_OUTPUT_MAX_CHARS, HeldOutput } from './early-terminal';
import type { OutputSink } from './output-stream';

const TERMINAL = 'term-run00001';
const SNAPSHOT = '\x1b[1mlearner@sbx:~$ \x1b[0m';

/** xterm.js as the stream sees it: writes are queued and done (and called back) when it renders. */
class Screen implements OutputSink {
  text = '';
  private queue: Array<{ data: string; written?: () => void }> = [];

  write(data: string, written?: () => void): void {
    this.queue.push({ data, written });
  }

  render(): void {
    for (const { data, written } of this.queue.splice(0)) {
      this.text += data;
      written?.();
    }
  }
}

/**
 * lab-server's side of one terminal's flow control (lab-server/src/sandbox/terminal.ts): it sends
 * the pty's output while the owner is at most the high-water mark behind, and pauses until acks
 * bring it under the low-water mark. The output numbers its lines, so a lost or repeated piece shows.
 */
class PacedServer {
  readonly output: string;
  sentChars = 0;
  unacked = 0;
  ackedChars = 0;
  mostUnacked = 0;
  private paused = false;
  private acksRead = 0;

  constructor(
    private readonly lab: FakeLabClient,
    lines: number,
  ) {
    this.output = Array.from({ length: lines }, (_, n) => `line ${n} ${'.'.repeat(n % 97)}\r\n`).join('');
  }

  /** What the pty produces now: batches of a few KiB, as lab-server sends them. */
  pump(): void {
    this.readAcks();
    while (!this.paused && this.sentChars < this.output.length) {
      const size = 3000 + ((this.sentChars * 7) % 9000);
      const data = this.output.slice(this.sentChars, this.sentChars + size);
      this.lab.emit('terminal:output', { terminalId: TERMINAL, data });
      this.sentChars += data.length;
      this.unacked += data.length;
      this.mostUnacked = Math.max(this.mostUnacked, this.unacked);
      if (this.unacked > FLOW_CONTROL.highWaterChars) this.paused = true;
    }
  }

  private readAcks(): void {
    for (const [event, payload] of this.lab.sent.slice(this.acksRead)) {
      if (event !== 'terminal:ack') continue;
      const { terminalId, chars } = payload as { terminalId: string; chars: number };
      expect(terminalId).toBe(TERMINAL);
      this.ackedChars += chars;
      this.unacked -= chars;
    }
    this.acksRead = this.lab.sent.length;
    if (this.paused && this.unacked <= FLOW_CONTROL.lowWaterChars) this.paused = false;
  }
}

function open(lab: FakeLabClient): EarlyTerminal {
  return new EarlyTerminal(lab.client, 'sbx-00000001', TERMINAL);
}

function labAnswering(answer: () => unknown = () => ({ terminalId: TERMINAL, kind: 'run', cols: 80, rows: 24, exited: false, snapshot: SNAPSHOT })) {
  return new FakeLabClient({ answer: (event) => (event === 'terminal:open' ? answer() : {}) });
}

describe('EarlyTerminal', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('holds the output until xterm is there, bounded by flow control, then writes it once and in order after the snapshot', async () => {
    const lab = labAnswering();
    const early = open(lab);
    expect(lab.requests).toEqual([['terminal:open', { sandboxId: 'sbx-00000001', terminalId: TERMINAL, cols: 80, rows: 24 }]]);
    const opened = await early.opened;
    // About a megabyte, while xterm.js is still loading.
    const server = new PacedServer(lab, 20_000);
    // More than the held output's own bound: only flow control keeps it small.
    expect(server.output.length).toBeGreaterThan(HELD_OUTPUT_MAX_CHARS);
    server.pump();
    await vi.advanceTimersByTimeAsync(ACK_IDLE_MS * 4);
    server.pump();
    // Nothing is on screen, so nothing is acknowledged and the server stopped at its mark.
    expect(lab.sent.filter(([event]) => event === 'terminal:ack')).toEqual([]);
    expect(server.sentChars).toBeLessThan(server.output.length);
    expect(server.unacked).toBeLessThanOrEqual(FLOW_CONTROL.highWaterChars + 12_000);

    // xterm mounts: the snapshot, then what was held, then the rest as the server sends it.
    const screen = new Screen();
    screen.write(opened.snapshot);
    const exits: Array<number | null> = [];
    const stream = early.adopt(screen, (code) => exits.push(code));
    expect(stream).toBeDefined();
    for (let round = 0; round < 1000 && screen.text.length < SNAPSHOT.length + server.output.length; round++) {
      screen.render();
      await vi.advanceTimersByTimeAsync(ACK_IDLE_MS);
      server.pump();
    }
    expect(screen.text).toBe(SNAPSHOT + server.output);
    expect(server.ackedChars).toBe(server.output.length);
    expect(server.mostUnacked).toBeLessThanOrEqual(FLOW_CONTROL.highWaterChars + 12_000);
    expect(exits).toEqual([]);
  });

  it('an exit while xterm loads is told after the output that came before it', async () => {
    const lab = labAnswering();
    const early = open(lab);
    await early.opened;
    lab.emit('terminal:output', { terminalId: TERMINAL, data: 'logout\r\n' });
    lab.emit('terminal:exit', { terminalId: TERMINAL, exitCode: 0 });
    const screen = new Screen();
    const told: string[] = [];
    early.adopt(screen, (code) => told.push(`exit ${code} after ${JSON.stringify(screen.text)}`));
    expect(told).toEqual([]);
    screen.render();
    expect(told).toEqual(['exit 0 after "logout\\r\\n"']);
  });

  it('output for other terminals is not its own', async () => {
    const lab = labAnswering();
    const early = open(lab);
    await early.opened;
    lab.emit('terminal:output', { terminalId: 'term-exec00002', data: 'not mine' });
    lab.emit('terminal:output', { terminalId: TERMINAL, data: 'mine' });
    const screen = new Screen();
    early.adopt(screen, () => undefined);
    screen.render();
    expect(screen.text).toBe('mine');
  });

  it('past its bound (a server ignoring flow control) it keeps nothing, acks nothing, and asks for a fresh attach', async () => {
    const lab = labAnswering();
    const early = open(lab);
    await early.opened;
    const piece = 'x'.repeat(64 * 1024);
    for (let sent = 0; sent <= HELD_OUTPUT_MAX_CHARS; sent += piece.length) lab.emit('terminal:output', { terminalId: TERMINAL, data: piece });
    const screen = new Screen();
    expect(early.adopt(screen, () => undefined)).toBeUndefined();
    lab.emit('terminal:output', { terminalId: TERMINAL, data: 'late' });
    screen.render();
    await vi.advanceTimersByTimeAsync(ACK_IDLE_MS * 2);
    expect(screen.text).toBe('');
    expect(lab.sent).toEqual([]);
  });

  it('disposed (the socket dropped, the page went away), it stops listening; a refusal reaches whoever adopts it', async () => {
    const lab = labAnswering();
    const early = open(lab);
    early.dispose();
    await early.opened;
    lab.emit('terminal:output', { terminalId: TERMINAL, data: 'after' });
    expect(early.adopt(new Screen(), () => undefined)).toBeUndefined();

    const refusing = labAnswering(() => {
      throw new LabRequestError('NOT_FOUND', 'No such terminal.');
    });
    await expect(open(refusing).opened).rejects.toThrow('No such terminal.');
  });
});

describe('HeldOutput', () => {
  it('keeps writes and their callbacks in order until released, then passes them straight through', () => {
    const held = new HeldOutput(10);
    const written: string[] = [];
    held.write('ab', () => written.push('ab'));
    held.write('cd', () => written.push('cd'));
    expect(held.chars).toBe(4);
    const screen = new Screen();
    held.release(screen);
    held.write('ef', () => written.push('ef'));
    expect(held.chars).toBe(0);
    screen.render();
    expect(screen.text).toBe('abcdef');
    expect(written).toEqual(['ab', 'cd', 'ef']);
  });

  it('never holds more than its bound', () => {
    const held = new HeldOutput(10);
    held.write('123456');
    held.write('7890');
    expect(held.lost).toBe(false);
    held.write('!');
    expect(held.lost).toBe(true);
    expect(held.chars).toBe(0);
    held.write('more');
    expect(held.chars).toBe(0);
  });
});
