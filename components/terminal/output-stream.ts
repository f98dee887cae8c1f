/**
 * One pty's output into one xterm, for as long as it is bound: each chunk is written, and acked
 * once xterm has written it (the server's flow control, see protocol/flow-control.ts); the exit
 * and, for a mirror, the owner's resizes are reported. Disposing it stops all of that at once,
 * so output that arrives for an older binding is never written.
 */
import type { LabClient, ReceivedEvent } from '../../lib/lab-client';
import type { ServerPayload } from '../../protocol';
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
    /** The terminal's events that came before this stream listened (held by a head start, early-terminal.ts), handled first. */
    earlier: ReceivedEvent[] = [],
  ) {
    const id = terminalId;
    const acks = (this.acks = new AckBatcher((chars) => client.send('terminal:ack', { terminalId: id, chars })));
    const output = ({ terminalId: target, data }: ServerPayload<'terminal:output'>) => {
      if (target === id && !this.disposed) terminal.write(data, () => acks.written(data.length));
    };
    const exit = ({ terminalId: target, exitCode }: ServerPayload<'terminal:exit'>) => {
      if (target !== id || this.disposed) return;
      acks.flush();
      handlers.onExit(exitCode);
    };
    const { onResized } = handlers;
    const resized = ({ terminalId: target, cols, rows }: ServerPayload<'terminal:resized'>) => {
      if (target !== id || this.disposed || !onResized) return;
      // After the output that came before it, which was written at the old size.
      terminal.write('', () => !this.disposed && onResized(cols, rows));
    };
    for (const { event, args } of earlier) {
      if (event === 'terminal:output') output(args[0] as ServerPayload<'terminal:output'>);
      else if (event === 'terminal:exit') exit(args[0] as ServerPayload<'terminal:exit'>);
      else if (event === 'terminal:resized') resized(args[0] as ServerPayload<'terminal:resized'>);
    }
    this.offs = [client.on('terminal:output', output), client.on('terminal:exit', exit)];
    if (onResized) this.offs.push(client.on('terminal:resized', resized));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.acks.dispose();
    for (const off of this.offs) off();
  }
}
