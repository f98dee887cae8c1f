/**
 * Stalls of lab-server's own event loop, so that its clocks can leave them out.
 *
 * The grace period, the idle timeout and socket.io's ping timeout all measure how long a learner
 * has been away. If lab-server itself stops serving for a while (a stall: some work that held
 * the thread, or a host too busy to run it), the learner's keystrokes, reconnects and pongs wait
 * unread in the kernel, and every clock wrongly runs against them: in the outside review's attack,
 * seconds of stalls dropped connections by ping timeout and then reaped every sandbox as
 * abandoned. So a heartbeat timer notices when it fires late, and the time beyond a tolerance
 * counts as stalled. Clocks ask `stalledSince(t)` and extend themselves by that much.
 *
 * A stall still under way counts too (`now` minus the last heartbeat): when a long-delayed timer
 * finally fires, the heartbeat of the same turn may not have run yet.
 */
import { performance } from 'node:perf_hooks';

/** The heartbeat. */
const TICK_MS = 100;
/** Lateness up to this is normal scheduling on a busy host, not a stall. */
const TOLERANCE_MS = 150;
/** Stalls are kept this long (the longest clock is the idle timeout, 30 min by default; 3 h leaves room). */
const KEEP_MS = 3 * 60 * 60 * 1000;
const MAX_KEPT = 4096;

export interface Stall {
  /** Wall-clock time (Date.now()) when the loop ran again. */
  endedAt: number;
  ms: number;
}

class LoopStalls {
  private readonly stalls: Stall[] = [];
  private lastBeat = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(stall: Stall) => void>();

  /** Starts the heartbeat (idempotent); it does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.lastBeat = performance.now();
    this.timer = setInterval(() => this.beat(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Called for each stall once the loop runs again (for the operator's log). */
  onStall(listener: (stall: Stall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Milliseconds the loop was stalled since wall-clock time `since`, including a stall under way. */
  stalledSince(since: number): number {
    let total = this.ongoingMs();
    for (let i = this.stalls.length - 1; i >= 0 && this.stalls[i].endedAt > since; i--) {
      const { endedAt, ms } = this.stalls[i];
      total += Math.min(ms, endedAt - since);
    }
    return total;
  }

  /**
   * Like setTimeout, but counts only time in which lab-server was serving: when the time is up
   * and the loop stalled meanwhile, it waits that much longer.
   */
  timeout(ms: number, callback: () => void): { cancel(): void } {
    const startedAt = Date.now();
    let timer: NodeJS.Timeout;
    const check = () => {
      const served = Date.now() - startedAt - this.stalledSince(startedAt);
      if (served >= ms) callback();
      else arm(ms - served);
    };
    const arm = (delay: number) => {
      timer = setTimeout(check, delay);
      timer.unref();
    };
    arm(ms);
    return { cancel: () => clearTimeout(timer) };
  }

  private ongoingMs(): number {
    if (!this.timer) return 0;
    return Math.max(0, performance.now() - this.lastBeat - TICK_MS - TOLERANCE_MS);
  }

  private beat(): void {
    const ms = this.ongoingMs();
    this.lastBeat = performance.now();
    if (ms <= 0) return;
    const stall = { endedAt: Date.now(), ms: Math.round(ms) };
    this.stalls.push(stall);
    while (this.stalls.length > MAX_KEPT || (this.stalls.length > 0 && stall.endedAt - this.stalls[0].endedAt > KEEP_MS)) this.stalls.shift();
    for (const listener of this.listeners) listener(stall);
  }
}

/** One per process: there is one event loop. */
export const loopStalls = new LoopStalls();
