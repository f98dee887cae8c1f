/**
 * The warm pool: sandboxes started before anyone asks, so that opening a lesson is a claim
 * instead of a `runc run`.
 *
 * A warm sandbox is an ordinary new sandbox that has no owner yet: its own namespaces, cgroup,
 * uid range and limits, made by the same start as any other, and never used by anyone. A claimed
 * one leaves the pool for good; when its learner is done it is torn down like any other, so
 * nothing of one learner can reach the next.
 *
 * How many it keeps warm (the rule the README states):
 *   aim = max(base, reserved, min(4 × base, ⌈opens in the last minute / 2⌉))
 * - base: ISOLAB_WARM_SANDBOXES.
 * - reserved: the instructor's "Get ready for N learners", less one for each claim since; it
 *   lapses after 30 minutes. Opens it served do not count as a surge.
 * - the surge term grows the pool while a class trickles in, and falls back a minute after the
 *   last open. Warm sandboxes above the aim are then closed: the pool shrinks when it is idle.
 * The lab never lets the pool take a place a learner needs (see Lab).
 */
import type { WarmPoolState } from '../../../protocol';
import type { Sandbox } from './sandbox';

export const SURGE_WINDOW_MS = 60_000;
export const RESERVATION_MS = 30 * 60_000;
const SURGE_CEILING_FACTOR = 4;

export class WarmPool {
  /** Oldest first: claims take the oldest, so none sits for hours. */
  private readonly ready: Sandbox[] = [];
  /** Warm sandboxes being started right now. */
  starting = 0;
  private reserved = 0;
  private reservedUntil = 0;
  /** When recent opens arrived (not the reserved ones), for the surge term; at most one window's worth. */
  private readonly recentOpens: number[] = [];

  constructor(readonly base: number) {}

  /** Every warm sandbox, ready or starting: each takes a place under the global limit. */
  get size(): number {
    return this.ready.length + this.starting;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  has(sandbox: Sandbox): boolean {
    return this.ready.includes(sandbox);
  }

  /** Takes the oldest ready sandbox out of the pool for good. */
  claim(): Sandbox | undefined {
    return this.ready.shift();
  }

  add(sandbox: Sandbox): void {
    this.ready.push(sandbox);
  }

  /** Takes a sandbox out (it died, or is being closed); false if it was not in the pool. */
  remove(sandbox: Sandbox): boolean {
    const index = this.ready.indexOf(sandbox);
    if (index < 0) return false;
    this.ready.splice(index, 1);
    return true;
  }

  /** A learner asked for a new sandbox. */
  noteOpen(now = Date.now()): void {
    if (this.reservation(now) > 0) {
      this.reserved--;
      return;
    }
    this.recentOpens.push(now);
    this.forgetOldOpens(now);
    // More than this many cannot raise the aim further.
    if (this.recentOpens.length > 2 * SURGE_CEILING_FACTOR * this.base) this.recentOpens.shift();
  }

  /** The instructor's "Get ready for N learners"; 0 cancels. */
  reserve(learners: number, now = Date.now()): void {
    this.reserved = learners;
    this.reservedUntil = now + RESERVATION_MS;
  }

  target(now = Date.now()): number {
    this.forgetOldOpens(now);
    const surge = Math.min(SURGE_CEILING_FACTOR * this.base, Math.ceil(this.recentOpens.length / 2));
    return Math.max(this.base, this.reservation(now), surge);
  }

  /** Whether the pool wants another sandbox started. */
  wantsMore(now = Date.now()): boolean {
    return this.size < this.target(now);
  }

  /** Ready sandboxes above the aim, oldest first, taken out of the pool for closing. */
  takeExcess(now = Date.now()): Sandbox[] {
    const excess = this.size - this.target(now);
    return excess > 0 ? this.ready.splice(0, Math.min(excess, this.ready.length)) : [];
  }

  /** Ready sandboxes that `stale` picks, taken out of the pool for closing. */
  takeWhere(stale: (sandbox: Sandbox) => boolean): Sandbox[] {
    const taken = this.ready.filter(stale);
    for (const sandbox of taken) this.remove(sandbox);
    return taken;
  }

  /** Every ready sandbox, taken out of the pool (shutdown). */
  drain(): Sandbox[] {
    return this.ready.splice(0);
  }

  state(now = Date.now()): WarmPoolState {
    return { ready: this.ready.length, starting: this.starting, target: this.target(now), reserved: this.reservation(now) };
  }

  private reservation(now: number): number {
    return now < this.reservedUntil ? this.reserved : 0;
  }

  private forgetOldOpens(now: number): void {
    while (this.recentOpens.length > 0 && this.recentOpens[0] <= now - SURGE_WINDOW_MS) this.recentOpens.shift();
  }
}
