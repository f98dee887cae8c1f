/**
 * One pty's output into one xterm, for as long as it is bound: each chunk is written, and acked
 * once xterm has written it (the server's flow control, see protocol/flow-control.ts); the exit
 * and, for a mirror, the owner's resizes are reported. Disposing it stops all of that at once,
 * so output that arrives for an older binding is never written.
 */
import type { LabClient } from '../../lib/lab-client';
import { AckBatcher } from './ack-batcher';

/** Where output goes: an xterm.js Terminal, or what holds it until there is one (early-terminal.ts). */
export interface OutputSink {
  /** `written` runs once the data is on the screen. */
  write(data: string, written?: () => void): void;
}

export interface OutputStreamHandlers {
  onExit(exitCode: number | null): void;
  /** The owner resized the pty (read-only mirrors follow it); called after the output before it was written. */
  onResized?(cols: number, rows: number): void;
}

export class OutputStream {
  private readonly acks: AckBatcher;
  private readonly offs: Array<() => void>;
  private disposed = false;

  constructor(
    readonly client: LabClient,
    readonly terminalId: string,
    terminal: OutputSink,
    handlers: OutputStreamHandlers,
  ) {
    const id = terminalId;
    const acks = (this.acks = new AckBatcher((chars) => client.send('terminal:ack', { terminalId: id, chars })));
    this.offs = [
      client.on('terminal:output', ({ terminalId: target, data }) => {
        if (target === id && !this.disposed) terminal.write(data, () => acks.written(data.length));
      }),
      client.on('terminal:exit', ({ terminalId: target, exitCode }) => {
        if (target !== id || this.disposed) return;
        acks.flush();
        handlers.onExit(exitCode);
      }),
    ];
    const { onResized } = handlers;
    if (onResized) {
      this.offs.push(
        client.on('terminal:resized', ({ terminalId: target, cols, rows }) => {
          if (target !== id || this.disposed) return;
          // After the output that came before it, which was written at the old size.
          terminal.write('', () => !this.disposed && onResized(cols, rows));
        }),
      );
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.acks.dispose();
    for (const off of this.offs) off();
  }
}
