/**
 * Drives one terminal the way a browser would: renders output into a headless xterm, acks it
 * for flow control, and waits for text to appear on the screen.
 */
import headless from '@xterm/headless';
import { FLOW_CONTROL, type TerminalKind } from '../../../protocol';
import type { LabClient } from '../../../lib/lab-client';
import { bound } from './slowdown';

const { Terminal } = headless;

export interface OpenedTerminal {
  terminalId: string;
  kind: TerminalKind;
  snapshot: string;
}

export class TerminalDriver {
  readonly screen: InstanceType<typeof Terminal>;
  /** Every char received, in order (bounded by what the test produces). */
  received = '';
  exit: { exitCode: number; signal?: number } | undefined;
  /** When false, the driver stops acking, like a browser tab that froze. */
  acking = true;
  private unacked = 0;
  private readonly unsubscribe: Array<() => void> = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly client: LabClient,
    readonly terminalId: string,
    readonly kind: TerminalKind,
    cols: number,
    rows: number,
    /** Keep the text of every output event (off for floods, to keep the test's memory small). */
    private readonly keepText: boolean,
  ) {
    this.screen = new Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true });
    this.unsubscribe.push(
      client.on('terminal:output', (event) => this.onOutput(event)),
      client.on('terminal:exit', ({ terminalId, exitCode, signal }) => {
        if (terminalId !== this.terminalId) return;
        this.exit = { exitCode, signal };
        this.wake();
      }),
    );
  }

  /** Opens a new terminal (no terminalId) or attaches to one, writing its snapshot first. */
  static async open(
    client: LabClient,
    sandboxId: string,
    options: { terminalId?: string; cols?: number; rows?: number; keepText?: boolean } = {},
  ): Promise<TerminalDriver & OpenedTerminal> {
    const cols = options.cols ?? 100;
    const rows = options.rows ?? 30;
    // Output sent right after the answer can be read together with it, and then handled before
    // this function resumes; it is kept from the answer on and written after the snapshot.
    const early: Array<{ terminalId: string; data: string }> = [];
    let answered = false;
    const stopKeeping = client.on('terminal:output', (event) => void (answered && early.push(event)));
    let opened;
    try {
      opened = await client.request('terminal:open', { sandboxId, cols, rows, ...(options.terminalId ? { terminalId: options.terminalId } : {}) }, undefined, () => (answered = true));
    } finally {
      stopKeeping();
    }
    const driver = new TerminalDriver(client, opened.terminalId, opened.kind, cols, rows, options.keepText ?? true);
    const snapshotWritten = opened.snapshot ? new Promise<void>((resolve) => driver.screen.write(opened.snapshot, resolve)) : Promise.resolve();
    for (const event of early) driver.onOutput(event);
    await snapshotWritten;
    return Object.assign(driver, { snapshot: opened.snapshot });
  }

  private onOutput({ terminalId, data }: { terminalId: string; data: string }): void {
    if (terminalId !== this.terminalId) return;
    if (this.keepText) this.received += data;
    this.screen.write(data, () => {
      this.unacked += data.length;
      if (this.acking && this.unacked >= FLOW_CONTROL.ackEveryChars) this.flushAck();
      this.wake();
    });
  }

  type(data: string): void {
    this.client.send('terminal:input', { terminalId: this.terminalId, data });
  }

  /** Types a command and Enter. */
  run(command: string): void {
    this.type(`${command}\r`);
  }

  /** The visible screen as text, one line per row. */
  screenText(): string {
    const buffer = this.screen.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < this.screen.rows; row++) lines.push(buffer.getLine(buffer.viewportY + row)?.translateToString(true) ?? '');
    return lines.join('\n');
  }

  /** Everything in the buffer, scrollback included, with wrapped rows joined into their lines and no empty rows at the end. */
  bufferText(): string {
    const buffer = this.screen.buffer.active;
    let text = '';
    for (let row = 0; row < buffer.length; row++) {
      const line = buffer.getLine(row);
      if (!line) continue;
      if (row > 0 && !line.isWrapped) text += '\n';
      text += line.translateToString(!buffer.getLine(row + 1)?.isWrapped);
    }
    // The rows below the cursor are empty; without them, /# $/ matches a prompt at the end.
    return text.replace(/\n+$/, '');
  }

  /** Waits until `pattern` appears in the buffer (`timeoutMs` on a real host, see slowdown.ts); fails with the screen in the message. */
  async waitFor(pattern: RegExp | string, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const regex = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
    const deadline = Date.now() + bound(timeoutMs);
    for (;;) {
      const match = this.bufferText().match(regex);
      if (match) return match;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${regex} in terminal ${this.terminalId}. Screen:\n${this.screenText()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Runs a command and waits for a marker printed after it, returning the text between. */
  async exec(command: string, timeoutMs = 15_000): Promise<string> {
    const marker = `__done_${Math.random().toString(36).slice(2, 8)}__`;
    // The marker is split in the typed command so that the echo of the command never matches.
    const [head, tail] = [marker.slice(0, 4), marker.slice(4)];
    // After a trailing `&` the marker command follows directly: `cmd &; echo` is a syntax error.
    const separator = /&\s*$/.test(command) ? ' ' : '; ';
    this.run(`${command}${separator}echo "${head}""${tail}"$?`);
    const match = await this.waitFor(new RegExp(`${escapeRegExp(marker)}(\\d+)`), timeoutMs);
    const text = this.bufferText();
    const end = text.lastIndexOf(marker);
    const commandLine = text.lastIndexOf(`${head}""${tail}`, end);
    return text.slice(text.indexOf('\n', commandLine) + 1, end) + `[exit ${match[1]}]`;
  }

  flushAck(): void {
    if (this.unacked > 0) {
      this.client.send('terminal:ack', { terminalId: this.terminalId, chars: this.unacked });
      this.unacked = 0;
    }
  }

  async waitForExit(timeoutMs = 10_000): Promise<{ exitCode: number; signal?: number }> {
    const deadline = Date.now() + bound(timeoutMs);
    while (!this.exit) {
      if (Date.now() > deadline) throw new Error(`terminal ${this.terminalId} did not exit. Screen:\n${this.screenText()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.exit;
  }

  dispose(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.screen.dispose();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
