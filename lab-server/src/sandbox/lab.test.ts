/**
 * The lab's admission rules without root: the lab starts sandboxes through the starter it is
 * given (server.ts gives it Sandbox.start on the host), so here it gets stand-ins that start when
 * the test says so. The real-sandbox admission tests are lab-server/test/admission.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CloseReason } from '../../../protocol';
import { LabError } from '../errors';
import { silentLogger } from '../log';
import type { Session } from '../session/session-store';
import { Lab, type LabPolicy } from './lab';
import type { Sandbox, SandboxHooks } from './sandbox';

/** The part of a sandbox the lab uses; `viewers` stands for browsers attached to its terminals. */
class StandIn {
  state: 'starting' | 'running' | 'closing' | 'closed' = 'running';
  createdAt = Date.now();
  lastActivityAt = Date.now();
  closeReason: CloseReason | undefined;
  leftoverCgroups: string[] = [];
  viewers = 0;
  /** What the lab gave the start: its hooks tell the lab about viewers. */
  hooks: SandboxHooks | undefined;

  constructor(
    readonly id: string,
    public key: string,
    public ownerSessionId: string,
  ) {}

  get viewerCount(): number {
    return this.viewers;
  }
  claim(ownerSessionId: string, key: string): void {
    this.ownerSessionId = ownerSessionId;
    this.key = key;
  }
  info() {
    return { sandboxId: this.id, key: this.key, terminals: [] };
  }
  /** Processes teardown could not kill (in leftoverCgroups), until `stuck` is cleared. */
  leftoverProcesses: number[] = [];
  stuck = false;
  leftoverPids(): number[] {
    return this.leftoverProcesses;
  }
  async removeLeftovers(): Promise<void> {
    if (this.stuck) return;
    this.leftoverCgroups = [];
    this.leftoverProcesses = [];
  }
  close(reason: CloseReason, schedule: (teardown: () => Promise<void>) => Promise<void> = (teardown) => teardown()): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.resolve();
    this.state = 'closing';
    this.closeReason = reason;
    return schedule(async () => {
      this.state = 'closed';
    });
  }
}

/**
 * A lab whose starts wait until the test lets them finish (`finish`), or finish at once (`instant`);
 * its pool fills at once, as after the server's ready line, unless `warming` is false.
 */
function labWith(policy: Partial<LabPolicy>, { instant = true, warming = true } = {}) {
  const started: StandIn[] = [];
  const pending: Array<() => void> = [];
  const lab = new Lab(
    (id: string, key: string, ownerSessionId: string, hooks: SandboxHooks) => {
      const sandbox = new StandIn(id, key, ownerSessionId);
      sandbox.hooks = hooks;
      started.push(sandbox);
      if (instant) return Promise.resolve(sandbox as unknown as Sandbox);
      return new Promise<Sandbox>((resolve) => pending.push(() => resolve(sandbox as unknown as Sandbox)));
    },
    { maxSandboxes: 10, maxSandboxesPerSession: 3, graceMs: 3_600_000, idleMs: 3_600_000, maxLifetimeMs: 3_600_000, warmSandboxes: 0, spawnSlots: 2, ...policy },
    silentLogger,
  );
  if (warming) lab.startWarming();
  const finish = () => pending.splice(0).forEach((resolve) => resolve());
  labs.push({ lab, finish });
  return { lab, started, finish };
}
const labs: Array<{ lab: Lab; finish: () => void }> = [];
afterEach(async () => {
  for (const { finish } of labs) finish();
  await Promise.all(labs.splice(0).map(({ lab }) => lab.dispose()));
});
/** Starts go through the spawn queue, a few turns of the event loop away. */
const soon = { timeout: 30_000 };

const session = (id: string) => ({ id, displayName: id, createdAt: 0, lastSeenAt: 0, connections: 1 }) as Session;
const ada = session('ses-ada');
const bob = session('ses-bob');

/** The code a refused open rejects with. */
async function refusal(opening: Promise<unknown>): Promise<string> {
  const error = await opening.then(() => undefined, (error: unknown) => error);
  expect(error).toBeInstanceOf(LabError);
  return (error as LabError).code;
}

describe('Lab admission (stand-in sandboxes, no root)', { timeout: 60_000 }, () => {
  it('gives two tabs of one learner opening the same lesson one sandbox, started once', async () => {
    const { lab, started, finish } = labWith({}, { instant: false });
    const first = lab.open(ada, 'uts');
    const second = lab.open(ada, 'uts');
    await expect.poll(() => started.length, soon).toBe(1);
    finish();
    expect(await first).toBe(await second);
    expect(started).toHaveLength(1);
    // Once it runs, opening it again finds it.
    expect(await lab.open(ada, 'uts')).toBe(await first);
  });

  it('while closed refuses learners with LAB_CLOSED, but starts the instructor’s demo', async () => {
    const { lab } = labWith({});
    lab.acceptingNew = false;
    expect(await refusal(lab.open(ada, 'uts'))).toBe('LAB_CLOSED');
    await expect(lab.open(bob, 'demo', { ignoreClosed: true })).resolves.toMatchObject({ key: 'demo' });
  });

  it('at the per-learner limit, closes the learner’s unviewed sandbox with the oldest activity to make room, and refuses when every one is viewed', async () => {
    const { lab } = labWith({ maxSandboxesPerSession: 2 });
    const older = (await lab.open(ada, 'one')) as unknown as StandIn;
    const newer = (await lab.open(ada, 'two')) as unknown as StandIn;
    older.lastActivityAt = newer.lastActivityAt - 1000;
    await lab.open(ada, 'three');
    expect(older.closeReason).toBe('closed');
    expect(newer.state).toBe('running');

    for (const sandbox of lab.forSession(ada.id)) (sandbox as unknown as StandIn).viewers = 1;
    expect(await refusal(lab.open(ada, 'four'))).toBe('SESSION_LIMIT');
    // Another learner is not affected.
    await expect(lab.open(bob, 'one')).resolves.toMatchObject({ ownerSessionId: bob.id });
  });

  it('counts opens still starting against the lab’s limit, and says how many places are taken', async () => {
    const { lab, started, finish } = labWith({ maxSandboxes: 2 }, { instant: false });
    const opening = [lab.open(ada, 'uts'), lab.open(bob, 'uts')];
    expect(lab.size).toBe(2);
    const carol = session('ses-carol');
    const full = await lab.open(carol, 'uts').then(() => undefined, (error: LabError) => error);
    expect(full).toMatchObject({ code: 'LAB_FULL', message: expect.stringContaining('2 of 2 sandboxes are in use') });
    finish();
    await Promise.all(opening);
    expect(lab.size).toBe(2);

    // A place given back is a place for the next learner.
    await lab.close(lab.forSession(ada.id)[0]!, 'closed');
    const next = lab.open(carol, 'uts');
    await expect.poll(() => started.length, soon).toBe(3);
    finish();
    await expect(next).resolves.toMatchObject({ ownerSessionId: carol.id });
  });

  // A learner who freezes a cgroup, or a kernel that will not let a process die, can make a
  // teardown leave processes and memory behind; the lab must not hand that place out again.
  it('counts a closed sandbox whose processes teardown could not remove against the lab’s limit, shows it to the operator, and gives the place back once a sweep removes them', async () => {
    const { lab } = labWith({ maxSandboxes: 2 });
    const stuck = (await lab.open(ada, 'uts')) as unknown as StandIn;
    await lab.open(bob, 'uts');
    stuck.stuck = true;
    stuck.leftoverCgroups = ['/sys/fs/cgroup/pids/isolab/sbx-stuck', '/sys/fs/cgroup/memory/isolab/sbx-stuck'];
    stuck.leftoverProcesses = [4242];
    await lab.close(stuck as unknown as Sandbox, 'closed');
    expect(lab.forSession(ada.id)).toEqual([]);
    expect(lab.leftoverReport()).toEqual({ sandboxes: 1, cgroups: 2, processes: 1 });
    const carol = session('ses-carol');
    const full = await lab.open(carol, 'uts').then(() => undefined, (error: LabError) => error);
    expect(full).toMatchObject({ code: 'LAB_FULL', message: expect.stringContaining('2 of 2 sandboxes are in use') });

    // The lab's sweep tries again; once the leftovers are gone, the place is free.
    stuck.stuck = false;
    await expect.poll(() => lab.leftoverReport(), soon).toEqual({ sandboxes: 0, cgroups: 0, processes: 0 });
    await expect(lab.open(carol, 'uts')).resolves.toMatchObject({ ownerSessionId: carol.id });
  });
});

describe('Lab warm pool refills (stand-in sandboxes, no root)', { timeout: 60_000 }, () => {
  /** A few turns of the event loop: what the lab starts on its own has started by then. */
  const turns = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('starts no warm sandbox before the server serves, then fills the pool in the background', async () => {
    const { lab, started } = labWith({ warmSandboxes: 2 }, { warming: false });
    await turns();
    expect(started).toHaveLength(0);
    expect(lab.warmPool()).toMatchObject({ ready: 0, starting: 0 });
    lab.startWarming();
    await expect.poll(() => lab.warmPool().ready, soon).toBe(2);
    expect(started.map((s) => s.ownerSessionId)).toEqual(['', '']);
  });

  it('starts no refill while a learner who just got a warm sandbox has not attached to it, and refills once every one has attached or left', async () => {
    // The hold's time bound is out of the picture: only attaching or leaving ends it here.
    const { lab, started } = labWith({ warmSandboxes: 2, refillHoldMs: 3_600_000 });
    await expect.poll(() => lab.warmPool().ready, soon).toBe(2);
    expect(started).toHaveLength(2);
    let settled = false;

    const ada1 = (await lab.open(ada, 'uts')) as unknown as StandIn;
    const bob1 = (await lab.open(bob, 'uts')) as unknown as StandIn;
    // Both are claims of the warm ones, and the pool now wants two more.
    expect(started).toEqual(expect.arrayContaining([ada1, bob1]));
    void lab.claimsSettled().then(() => (settled = true));
    await turns();
    expect(started).toHaveLength(2);

    // Ada's terminal is attached; Bob still waits for his: still no refill.
    ada1.viewers = 1;
    ada1.hooks!.onUsage(ada1 as unknown as Sandbox);
    await turns();
    expect(started).toHaveLength(2);
    expect(settled).toBe(false);

    // Bob closes the tab before attaching: nobody waits any more, the pool refills.
    await lab.close(bob1 as unknown as Sandbox, 'closed');
    await expect.poll(() => started.length, soon).toBe(4);
    await expect.poll(() => settled, soon).toBe(true);
  });

  it('is held back by learners who never attach only for a while: the pool refills and the dashboard is told, while they still have not attached', async () => {
    const { lab, started } = labWith({ warmSandboxes: 2, refillHoldMs: 50 });
    await expect.poll(() => lab.warmPool().ready, soon).toBe(2);
    // Learners keep arriving and none attaches.
    await lab.open(ada, 'uts');
    await lab.open(bob, 'uts');
    const settled = lab.claimsSettled();
    await lab.open(ada, 'net');
    await settled;
    await expect.poll(() => lab.warmPool().ready, soon).toBe(2);
    expect(started.length).toBeGreaterThanOrEqual(5);
    expect(lab.forSession(ada.id).concat(lab.forSession(bob.id)).every((s) => s.viewerCount === 0)).toBe(true);
  });
});
