/**
 * Terminal clients that behave like a browser tab, for benchmarks: one for Isolab's protocol and
 * one for wetty's, behind the same small interface, so that both are measured by the same code.
 *
 * Neither renders into xterm.js: each acknowledges output as soon as it arrives, the way a fast
 * browser would once xterm has written it. That keeps the client's cost equal and out of the
 * figures, which are then the server's and the shell's.
 */
import { io, type Socket } from 'socket.io-client';
import { FLOW_CONTROL } from '../../protocol';
import type { LabClient } from '../../lib/lab-client';

export interface BenchTerminal {
  /** Sends keystrokes. */
  type(data: string): void;
  /** Resolves when `pattern` matches the tail of the output received since the last clear(). */
  next(pattern: RegExp, timeoutMs?: number): Promise<void>;
  clear(): void;
  /** Chars received so far. */
  readonly chars: number;
  close(): void;
}

/** The end of a bash prompt; the snapshot of a fresh terminal may put the bracketed-paste switch after it. */
export const PROMPT = /# (\x1b\[\?2004h)?$/;

/** Keeps the last few kilobytes of output and wakes a waiter when its pattern shows up. */
class OutputTail {
  text = '';
  chars = 0;
  private waiter: { pattern: RegExp; resolve: () => void } | undefined;

  push(data: string): void {
    this.chars += data.length;
    this.text = (this.text + data).slice(-8192);
    if (this.waiter && this.waiter.pattern.test(this.text)) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  next(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (pattern.test(this.text)) return resolve();
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timed out waiting for ${pattern}; last output: ${JSON.stringify(this.text.slice(-200))}`));
      }, timeoutMs);
      this.waiter = {
        pattern,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}

/** Attaches to a sandbox's terminal over Isolab's protocol, acking every 16k chars like the web client. */
export async function isolabTerminal(client: LabClient, sandboxId: string, terminalId: string, size = { cols: 120, rows: 40 }): Promise<BenchTerminal> {
  const tail = new OutputTail();
  let unacked = 0;
  // Output sent right after the answer can be read together with it, and handled before this
  // function resumes: it is kept from the answer on and pushed after the snapshot (as in the
  // server tests' TerminalDriver).
  let answered = false;
  let early: string[] | undefined = [];
  const off = client.on('terminal:output', (event) => {
    if (event.terminalId !== terminalId) return;
    if (early) {
      if (answered) early.push(event.data);
    } else tail.push(event.data);
    unacked += event.data.length;
    if (unacked >= FLOW_CONTROL.ackEveryChars) {
      client.send('terminal:ack', { terminalId, chars: unacked });
      unacked = 0;
    }
  });
  const opened = await client.request('terminal:open', { sandboxId, terminalId, ...size }, undefined, () => (answered = true));
  tail.push(opened.snapshot);
  for (const data of early) tail.push(data);
  early = undefined;
  return {
    type: (data) => client.send('terminal:input', { terminalId, data }),
    next: (pattern, timeoutMs) => tail.next(pattern, timeoutMs),
    clear: () => (tail.text = ''),
    get chars() {
      return tail.chars;
    },
    close: off,
  };
}

/** Opens a sandbox and its terminal, and waits for the prompt. */
export async function isolabShell(client: LabClient, key: string): Promise<BenchTerminal & { sandboxId: string; terminalId: string }> {
  const sandbox = await client.request('sandbox:open', { key });
  const terminalId = sandbox.terminals[0].terminalId;
  const terminal = await isolabTerminal(client, sandbox.sandboxId, terminalId);
  await terminal.next(PROMPT);
  return Object.assign(terminal, { sandboxId: sandbox.sandboxId, terminalId });
}

/**
 * A wetty tab, speaking wetty 3's protocol as its own client does (client/wetty.js): it receives
 * `data`, sends `input` and `resize`, and sends `commit` with 256 KiB each time that much output
 * has been written, which is what lets wetty's server resume a paused pty (it pauses at 2 MiB
 * uncommitted and resumes below 512 KiB).
 */
export async function wettyTerminal(url: string, size = { cols: 120, rows: 40 }): Promise<BenchTerminal & { socket: Socket }> {
  const COMMIT_BYTES = 262_144;
  const tail = new OutputTail();
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], reconnection: false, forceNew: true });
  let uncommitted = 0;
  socket.on('data', (data: string) => {
    tail.push(data);
    uncommitted += data.length;
    while (uncommitted >= COMMIT_BYTES) {
      uncommitted -= COMMIT_BYTES;
      socket.emit('commit', COMMIT_BYTES);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.emit('resize', size);
  await tail.next(PROMPT, 15_000);
  return {
    socket,
    type: (data) => void socket.emit('input', data),
    next: (pattern, timeoutMs) => tail.next(pattern, timeoutMs),
    clear: () => (tail.text = ''),
    get chars() {
      return tail.chars;
    },
    close: () => void socket.close(),
  };
}

/**
 * The pause between keystrokes: a very fast typist. Without it a benchmark types a thousand keys
 * a second, which no person does and which Isolab's per-connection rate limit (200 events/s)
 * rightly drops.
 */
export const KEYSTROKE_INTERVAL_MS = 10;

/**
 * Types a letter and erases it, `count` times, timing each echo (ms). The line never grows.
 * Without `capMs` a lost echo ends the run (after 10 s); with it, an echo later than `capMs`
 * counts as `capMs` and the run goes on, for benches that measure a lab under attack. `stop`
 * ends the run early (a disconnected terminal). `intervalMs` is the pause after each echo.
 */
export async function measureEcho(terminal: BenchTerminal, count: number, options: { capMs?: number; stop?: () => boolean; intervalMs?: number } = {}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count && !options.stop?.(); i++) {
    for (const [key, echo] of [
      ['x', /x$/],
      ['\x7f', /\x08\x1b\[K$|\x08 \x08$/],
    ] as const) {
      terminal.clear();
      const started = performance.now();
      terminal.type(key);
      if (options.capMs === undefined) {
        await terminal.next(echo, 10_000);
        times.push(performance.now() - started);
      } else {
        const arrived = await terminal.next(echo, options.capMs).then(() => true, () => false);
        times.push(arrived ? performance.now() - started : options.capMs);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? KEYSTROKE_INTERVAL_MS));
    }
  }
  return times;
}

/** Prints `bytes` of output in the shell and returns MB/s from the command to its end marker. */
export async function measureThroughput(terminal: BenchTerminal, bytes: number): Promise<number> {
  terminal.clear();
  const before = terminal.chars;
  const started = performance.now();
  terminal.type(`yes | head -c ${bytes}; echo THROUGHPUT""-DONE\r`);
  await terminal.next(/THROUGHPUT-DONE/, 600_000);
  const seconds = (performance.now() - started) / 1000;
  await terminal.next(PROMPT, 10_000);
  return (terminal.chars - before) / 1e6 / seconds;
}
