/**
 * A sandbox's life without root: started, used and ended through the fake runtime, so that the
 * rules a learner meets (a start that fails says so and leaves nothing, the terminal limit, one
 * check at a time, an identity never shared with what is left of a sandbox) are tested on every
 * machine. The same rules against real containers: lab-server/test/ (faults, teardown, terminals).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log';
import { FakeRuntime } from '../runtime/fake-runtime';
import { ExecGate } from './exec-gate';
import type { SandboxIdentity } from './identity';
import { newSandboxId, Sandbox, type SandboxEnvironment } from './sandbox';

/** Host identities as HostIdentities hands them out (lowest free slot first), without the views. */
class Identities {
  readonly taken = new Set<number>();
  async acquire(): Promise<SandboxIdentity> {
    let slot = 1;
    while (this.taken.has(slot)) slot++;
    this.taken.add(slot);
    return { slot, hostUid: 1_000_000_000 + slot * 65_536, rootfsView: `/run/isolab/readonly/rootfs-${slot}` };
  }
  release(identity: SandboxIdentity): void {
    if (!this.taken.delete(identity.slot)) throw new Error(`identity ${identity.slot} released twice`);
  }
}

const opened: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((sandbox) => sandbox.close('closed')));
});

function lab(overrides: Partial<SandboxEnvironment> = {}) {
  const runtime = new FakeRuntime();
  const identities = new Identities();
  const initExits: number[] = [];
  const env: SandboxEnvironment = {
    runtime,
    identities,
    limits: { memoryBytes: 256 * 2 ** 20, pids: 256, cpus: 0.5, cpuPeriodUs: 10_000, tmpfsBytes: 64 * 2 ** 20, ptys: 16 },
    maxTerminals: 3,
    startTimeoutMs: 30_000,
    execGate: new ExecGate(8, 30),
    logger: silentLogger,
    ...overrides,
  };
  const start = async () => {
    const sandbox = await Sandbox.start(newSandboxId(), 'uts', 'ses-ada', env, { onInitExit: (_, code) => initExits.push(code), onUsage: () => undefined });
    opened.push(sandbox);
    return sandbox;
  };
  return { runtime, identities, initExits, start };
}

describe('a sandbox', () => {
  it('starts its container as an identity of its own, with the init shell as terminal 1, and ends it all exactly once', async () => {
    const { runtime, identities, start } = lab();
    const first = await start();
    const second = await start();
    expect(first.state).toBe('running');
    expect(first.info().terminals).toEqual([expect.objectContaining({ kind: 'run', exited: false })]);
    expect(runtime.containers.get(first.id)?.spec).toMatchObject({ hostname: first.id, hostUid: 1_000_000_000 + 65_536 });
    expect(second.hostUid).not.toBe(first.hostUid);

    await Promise.all([first.close('closed'), first.close('idle')]);
    expect(first.state).toBe('closed');
    expect(first.closeReason).toBe('closed');
    expect(runtime.destroyed).toEqual([first.id]);
    expect(runtime.exists(first.id)).toBe(false);
    // Its identity is free for the next sandbox; the other one's is not.
    expect([...identities.taken]).toEqual([2]);
  });

  it('whose runc fails says so in a sentence and leaves no container and no identity behind', async () => {
    const { runtime, identities, start } = lab();
    runtime.startup = 'runc-fails';
    await expect(start()).rejects.toMatchObject({ code: 'SPAWN_FAILED', message: 'The sandbox could not be started. The lab server log has the details.' });
    expect(runtime.destroyed).toHaveLength(1);
    expect(identities.taken.size).toBe(0);
  });

  it('whose shell never prints fails once the start timeout has passed, and is removed', async () => {
    const { runtime, identities, start } = lab({ startTimeoutMs: 50 });
    runtime.startup = 'silent';
    await expect(start()).rejects.toMatchObject({ code: 'SPAWN_FAILED', message: 'The sandbox did not start in time. Try again.' });
    expect(runtime.containers.size).toBe(0);
    expect(identities.taken.size).toBe(0);
  });

  it('tells its lab when the init shell exits on its own (the learner typed exit)', async () => {
    const { runtime, initExits, start } = lab();
    const sandbox = await start();
    runtime.containers.get(sandbox.id)!.init.exit(0);
    await expect.poll(() => initExits).toEqual([0]);
  });

  it('holds at most maxTerminals terminals; closing one, or one ending, makes room', async () => {
    const { runtime, start } = lab();
    const sandbox = await start();
    const second = sandbox.openTerminal({ cols: 80, rows: 24 });
    const third = sandbox.openTerminal({ cols: 80, rows: 24 });
    expect(() => sandbox.openTerminal({ cols: 80, rows: 24 })).toThrow('This sandbox already has 3 of 3 terminals open. Close one to open another.');

    sandbox.closeTerminal(second.id);
    expect(sandbox.terminal(second.id)).toBeUndefined();
    const fourth = sandbox.openTerminal({ cols: 80, rows: 24 });
    // A shell that exits (the learner typed exit in it) gives its place back too.
    runtime.containers.get(sandbox.id)!.execs[1].exit(0);
    await expect.poll(() => sandbox.terminal(third.id)).toBeUndefined();
    sandbox.openTerminal({ cols: 80, rows: 24 });
    expect(sandbox.info().terminals.map((t) => t.terminalId)).toContain(fourth.id);
    // The init terminal is the sandbox itself: closing it as a terminal does nothing.
    sandbox.closeTerminal(sandbox.info().terminals[0].terminalId);
    expect(sandbox.info().terminals).toHaveLength(3);
  });

  it('runs one check at a time, as bash -c in the container, and refuses a second with a sentence', async () => {
    const { runtime, start } = lab();
    const sandbox = await start();
    const first = sandbox.runCheck('test -f /tmp/done', 5_000);
    await expect(sandbox.runCheck('true', 5_000)).rejects.toMatchObject({ code: 'CHECK_BUSY', message: 'A check is already running in this sandbox. Wait for it to finish.' });
    await expect.poll(() => runtime.checks.length).toBe(1);
    expect(runtime.checks[0].argv).toEqual(['/bin/bash', '-c', 'test -f /tmp/done']);
    runtime.checks[0].answer({ exitCode: 1 });
    expect((await first).exitCode).toBe(1);
    // The sandbox is free for the next one.
    const next = sandbox.runCheck('true', 5_000);
    await expect.poll(() => runtime.checks.length).toBe(2);
    runtime.checks[1].answer({ exitCode: 0 });
    expect((await next).exitCode).toBe(0);
  });

  it('that has ended refuses new terminals and checks in words a learner can act on', async () => {
    const { start } = lab();
    const sandbox = await start();
    await sandbox.close('exited');
    expect(() => sandbox.openTerminal({ cols: 80, rows: 24 })).toThrow('This sandbox has ended. Start a new one.');
    await expect(sandbox.runCheck('true', 5_000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('whose processes would not die keeps its identity taken until a later sweep removes them', async () => {
    const { runtime, identities, start } = lab();
    const sandbox = await start();
    runtime.unkillable.add(sandbox.id);
    await sandbox.close('closed');
    expect(sandbox.leftoverCgroups).toEqual(runtime.cgroupOf(sandbox.id).dirs);
    expect(sandbox.leftoverPids()).toHaveLength(1);
    // A new sandbox must not share a host uid with what is left.
    const next = await start();
    expect(next.hostUid).not.toBe(sandbox.hostUid);
    expect(identities.taken.size).toBe(2);

    runtime.unkillable.delete(sandbox.id);
    await sandbox.removeLeftovers(1);
    expect(sandbox.leftoverCgroups).toEqual([]);
    expect(identities.taken.size).toBe(1);
    // A second sweep finds nothing to give back twice.
    await sandbox.removeLeftovers(1);
    expect(identities.taken.size).toBe(1);
  });
});
