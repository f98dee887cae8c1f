/**
 * The browser's half of flow control (protocol/flow-control.ts): count the chars xterm.js has
 * actually written and acknowledge them to lab-server. Acks go out in batches of
 * `ackEveryChars`; a short idle timer sends the remainder, because without it the last few
 * hundred chars of a burst would never be acknowledged and could hold the pty paused.
 */
import { FLOW_CONTROL } from '../../protocol/flow-control';

export const ACK_IDLE_MS = 50;

export class AckBatcher {
  private pending = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly sendAck: (chars: number) => void,
    private readonly batchChars: number = FLOW_CONTROL.ackEveryChars,
    private readonly idleMs: number = ACK_IDLE_MS,
  ) {}

  /** xterm.js finished writing `chars` chars of output. */
  written(chars: number): void {
    if (this.disposed || chars <= 0) return;
    this.pending += chars;
    if (this.pending >= this.batchChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.idleMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || this.pending === 0) return;
    const chars = this.pending;
    this.pending = 0;
    this.sendAck(chars);
  }

  /** Drops what is pending: the terminal it belonged to is gone or being replaced. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = 0;
  }
}
