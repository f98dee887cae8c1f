/**
 * A cap on `runc exec` processes starting or running at once in the whole lab, and a per-session
 * rate for checks.
 *
 * Each `runc exec` (a check, or a new terminal) costs host CPU that no sandbox's cgroup is
 * charged for: runc, its `runc init` and the namespace joins run in lab-server's own cgroup. In
 * the outside review's attack, back-to-back `check:run` calls from one learner slowed every other
 * learner. So checks hold a slot for their whole run (they are short, and the check's command runs
 * under runc exec), waiting in a short queue when all slots are taken; a new terminal holds one
 * only while it starts (until its first output), and is refused at once when none is free, as a
 * person opening a terminal can simply try again.
 */
import { LabError } from '../errors';
import { TokenBucket } from '../transport/token-bucket';

/** A check waits at most this long for a slot before it is refused. */
const QUEUE_WAIT_MS = 10_000;
/** Checks waiting beyond this many are refused at once. */
const MAX_QUEUED_PER_SLOT = 8;
/** A terminal's slot is given back after its first output, or after this long at the latest. */
export const TERMINAL_START_SLOT_MS = 10_000;
/** A session may run a burst of this many checks, then `checksPerMinute`. */
const CHECK_BURST = 20;

export class ExecGate {
  private running = 0;
  /** Checks waiting for a slot; `wake` hands one over, or says no if the check gave up waiting. */
  private readonly queue: Array<{ wake: () => boolean }> = [];
  private readonly checkRates = new Map<string, TokenBucket>();

  constructor(
    private readonly maxConcurrent: number,
    private readonly checksPerMinute: number,
  ) {}

  get inUse(): number {
    return this.running;
  }

  /**
   * Counts a check against the session's rate, then waits for a slot. Resolves with the slot's
   * release; refuses with a sentence saying which limit was hit.
   */
  async forCheck(sessionId: string): Promise<() => void> {
    const rate = this.checkRate(sessionId);
    if (!rate.take()) {
      const seconds = rate.secondsUntil();
      throw new LabError(
        'RATE_LIMITED',
        `You have run ${CHECK_BURST} checks in quick succession; a check can run again in ${seconds} second${seconds === 1 ? '' : 's'} (at most ${this.checksPerMinute} a minute).`,
      );
    }
    if (this.running < this.maxConcurrent) return this.take();
    if (this.queue.length >= this.maxConcurrent * MAX_QUEUED_PER_SLOT) throw busy('check');
    const release = await new Promise<(() => void) | undefined>((resolve) => {
      let settled = false;
      const waiter = {
        wake: () => {
          if (settled) return false;
          settled = true;
          resolve(this.take());
          return true;
        },
      };
      this.queue.push(waiter);
      setTimeout(() => {
        if (settled) return;
        settled = true;
        this.queue.splice(this.queue.indexOf(waiter), 1);
        resolve(undefined);
      }, QUEUE_WAIT_MS).unref();
    });
    if (!release) throw busy('check');
    return release;
  }

  /** A slot for a terminal's start, or a refusal when all are taken. */
  forTerminal(): () => void {
    if (this.running >= this.maxConcurrent || this.queue.length > 0) throw busy('terminal');
    return this.take();
  }

  /** Forgets the rates of sessions that have not run a check lately. */
  sweep(): void {
    for (const [sessionId, rate] of this.checkRates) if (rate.full) this.checkRates.delete(sessionId);
  }

  private checkRate(sessionId: string): TokenBucket {
    let rate = this.checkRates.get(sessionId);
    if (!rate) this.checkRates.set(sessionId, (rate = new TokenBucket(this.checksPerMinute / 60, CHECK_BURST)));
    return rate;
  }

  private take(): () => void {
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      // The slot goes straight to the first waiter still waiting, which counts it again in take().
      while (this.queue.length > 0 && !this.queue.shift()!.wake());
    };
  }
}

function busy(what: 'check' | 'terminal'): LabError {
  return new LabError(
    'LAB_BUSY',
    what === 'check'
      ? 'The lab server is running as many checks and new terminals as it can right now. Try the check again in a few seconds.'
      : 'The lab server is starting as many checks and terminals as it can right now. Try opening the terminal again in a few seconds.',
  );
}
