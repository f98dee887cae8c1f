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
  leftoverPids(): number[] {
    return [];
  }
  async removeLeftovers(): Promise<void> {}
  close(reason: CloseReason, schedule: (teardown: () => Promise<void>) => Promise<void> = (teardown) => teardown()): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.resolve();
    this.state = 'closing';
    this.closeReason = reason;
    return schedule(async () => {
      this.state = 'closed';
    });
  }
}

/** A lab whose starts wait until the test lets them finish (`finish`), or finish at once (`instant`). */
function labWith(policy: Partial<LabPolicy>, { instant = true } = {}) {
  const started: StandIn[] = [];
  const pending: Array<() => void> = [];
  const lab = new Lab(
    (id: string, key: string, ownerSessionId: string, _hooks: SandboxHooks) => {
      const sandbox = new StandIn(id, key, ownerSessionId);
      started.push(sandbox);
      if (instant) return Promise.resolve(sandbox as unknown as Sandbox);
      return new Promise<Sandbox>((resolve) => pending.push(() => resolve(sandbox as unknown as Sandbox)));
    },
    { maxSandboxes: 10, maxSandboxesPerSession: 3, graceMs: 3_600_000, idleMs: 3_600_000, maxLifetimeMs: 3_600_000, warmSandboxes: 0, spawnSlots: 2, ...policy },
    silentLogger,
  );
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
});
