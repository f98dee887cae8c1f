/**
 * Fair spawning: runc work runs a few at a time (about one per core), in arrival order.
 *
 * Why: on a 2-core box, 30 `runc run`s started at the same moment shared the cores fairly, so all
 * 30 learners waited about 4 s and nobody got a prompt early. Started two at a time in arrival
 * order, the first learners get a prompt at once and the last wait no longer than before.
 *
 * Three kinds of work share the slots, in this order of precedence:
 * - opens: a learner waiting for a sandbox, first come first served. The head may also start
 *   without a slot when the gate says so (a warm sandbox is ready: claiming it costs nothing).
 * - teardowns: the runc kill and delete of ended sandboxes. They wait while learners wait, so a
 *   class leaving never slows a class arriving. They are not starved beyond that: opens are
 *   bounded by the global limit, and background work never goes before them.
 * - background work (refilling the warm pool), only when nothing else waits.
 *
 * A learner waiting in line is told how many are ahead, and leaving the line (the socket went
 * away) frees the place at once.
 *
 * A task holds its slot until it settles, so it must never wait for a teardown (which needs a
 * slot): with every slot held that way, nothing would move again. A teardown holds its slot for
 * TEARDOWN_SLOT_MS at most: the runtime bounds each of its steps, and should one hang all the
 * same (it waits on the kernel or on runc, and uses no CPU), it carries on without a slot rather
 * than stopping every start behind it.
 */
import { LabError } from '../errors';
import { loopStalls } from '../loop-stalls';
import { TEARDOWN_STEP_MS } from '../runtime/runtime';

/** The longest a teardown holds a slot: its runc steps' bounds (runc-runtime.ts), three of them at most, and the sweep of its cgroups. */
export const TEARDOWN_SLOT_MS = 4 * TEARDOWN_STEP_MS;

export interface SpawnQueueGate {
  /** May the next open start now? `slotFree` says whether a slot is free. */
  openMayStart(slotFree: boolean): boolean;
  /** Work to run in a free slot while nothing waits, if there is any. */
  backgroundWork(): (() => Promise<void>) | undefined;
}

export interface QueueOptions {
  /** Aborting it while the open still waits takes it out of the line. */
  signal?: AbortSignal;
  /** Called while the open waits: how many opens are ahead of it. */
  onAhead?: (ahead: number) => void;
}

interface Waiter {
  run(): void;
  fail(error: LabError): void;
  onAhead?: (ahead: number) => void;
  /** The position last reported, so that only changes are sent. */
  reported?: number;
}

/** Positions are sent at most this often: each start moves everyone, and the line can be long. */
const POSITION_INTERVAL_MS = 100;

export class SpawnQueue {
  private running = 0;
  private readonly opens: Waiter[] = [];
  private readonly teardowns: Waiter[] = [];
  private pumping = false;
  private positionTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly slots: number,
    private readonly gate: SpawnQueueGate,
    /** Told when a teardown gives its slot up at TEARDOWN_SLOT_MS without having ended. */
    private readonly onTeardownOverdue: () => void = () => {},
    private readonly teardownSlotMs = TEARDOWN_SLOT_MS,
  ) {}

  /** Opens waiting for their turn. */
  get waiting(): number {
    return this.opens.length;
  }

  open<T>(task: () => Promise<T>, options: QueueOptions = {}): Promise<T> {
    const { signal, onAhead } = options;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(leftError());
      const leave = () => {
        const index = this.opens.indexOf(waiter);
        if (index < 0) return;
        this.opens.splice(index, 1);
        reject(leftError());
        this.positionsChanged();
        this.pump();
      };
      const waiter: Waiter = {
        run: () => {
          signal?.removeEventListener('abort', leave);
          this.execute(task).then(resolve, reject);
        },
        fail: reject,
        onAhead,
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.opens.push(waiter);
      this.pump();
      const ahead = this.opens.indexOf(waiter);
      if (ahead >= 0) {
        waiter.reported = ahead;
        onAhead?.(ahead);
      }
    });
  }

  teardown(task: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.teardowns.push({ run: () => this.execute(task, this.teardownSlotMs).then(resolve, reject), fail: reject });
      this.pump();
    });
  }

  /** Starts whatever may start now. Call it when something the gate looks at has changed. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    let openStarted = false;
    try {
      for (;;) {
        const slotFree = this.running < this.slots;
        if (this.opens.length > 0 && this.gate.openMayStart(slotFree)) {
          this.opens.shift()!.run();
          openStarted = true;
          continue;
        }
        if (!slotFree) break;
        if (this.teardowns.length > 0) {
          this.teardowns.shift()!.run();
          continue;
        }
        const work = this.opens.length === 0 ? this.gate.backgroundWork() : undefined;
        if (!work) break;
        // Background work reports its own failures.
        this.execute(work).catch(() => undefined);
      }
    } finally {
      this.pumping = false;
    }
    if (openStarted) this.positionsChanged();
  }

  /** Refuses every open still waiting (the lab is shutting down). Teardowns still run. */
  dispose(error: LabError): void {
    clearTimeout(this.positionTimer);
    for (const waiter of this.opens.splice(0)) waiter.fail(error);
  }

  /** Runs `task` in a slot, which it gives back when it settles, or after `slotMs` if that comes first. */
  private execute<T>(task: () => Promise<T>, slotMs?: number): Promise<T> {
    this.running++;
    let result: Promise<T>;
    try {
      // Called synchronously: an open that claims a warm sandbox takes it before anything else runs.
      result = task();
    } catch (error) {
      result = Promise.reject(error);
    }
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      overdue?.cancel();
      this.running--;
      this.pump();
    };
    // Time in which lab-server did not run (the box paused) does not count against the task.
    const overdue =
      slotMs === undefined
        ? undefined
        : loopStalls.timeout(slotMs, () => {
            this.onTeardownOverdue();
            release();
          });
    result.then(release, release);
    return result;
  }

  private positionsChanged(): void {
    if (this.positionTimer) return;
    this.positionTimer = setTimeout(() => {
      this.positionTimer = undefined;
      for (const [ahead, waiter] of this.opens.entries()) {
        if (waiter.reported === ahead) continue;
        waiter.reported = ahead;
        waiter.onAhead?.(ahead);
      }
    }, POSITION_INTERVAL_MS);
    this.positionTimer.unref();
  }
}

const leftError = () => new LabError('NOT_FOUND', 'You left the line before your sandbox started. Open the lesson again to get a new place.');
