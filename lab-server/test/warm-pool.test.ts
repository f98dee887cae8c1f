/**
 * The warm pool: a warm sandbox is exactly as fresh as a new one, the pool keeps to
 * the global and per-session limits and refills after claims, and neither a shutdown nor a
 * kill -9 leaves a warm sandbox behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { labChildEnv, leftovers, removeLabChildFootprint, startLabChild } from './support/lab-child';
import { checkOutput, openShell } from './support/shell';
import { startTestLab, type TestLab } from './support/test-lab';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Polls until `ready` holds; a wait, not a timed assertion. */
async function until(what: string, ready: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Ids of the warm sandboxes: containers the runtime has that belong to no learner. */
async function warmIds(lab: TestLab): Promise<string[]> {
  const claimed = new Set(lab.server.lab.all().map((s) => s.id));
  return (await lab.server.runtime.list()).filter((id) => !claimed.has(id));
}

async function labWith(env: Record<string, string>): Promise<TestLab> {
  const lab = await startTestLab(env);
  cleanups.push(() => lab.close());
  return lab;
}

describe('a claimed warm sandbox', () => {
  it('is fresh: nothing a learner made (file, process, hostname, mount, IPC object, net device) shows up in one someone else gets', async () => {
    const lab = await labWith({ ISOLAB_WARM_SANDBOXES: '2' });
    await until('two warm sandboxes', () => lab.server.lab.warmPool().ready === 2);
    const warmBefore = await warmIds(lab);

    const first = await lab.connect();
    const a = await openShell(first, 'fresh');
    expect(warmBefore).toContain(a.sandbox.sandboxId);
    // Everything a learner can leave behind in a sandbox, in every namespace.
    await a.term.exec(
      'echo secret > /tmp/left-behind; echo secret > /root/left-behind; echo secret > /dev/shm/left-behind; ' +
        '(exec -a left-behind-sleeper sleep 4242 &); hostname learner-a; ' +
        'mkdir -p /tmp/m && mount -t tmpfs left-behind /tmp/m; ipcmk -Q; ipcmk -M 4096; ' +
        'ip link add left0 type veth peer name left1; ip netns add left-behind',
    );
    expect(await checkOutput(first, a.sandbox.sandboxId, 'ipcs -q | grep -c 0x; ip -o link | grep -c left; ps -eo comm= | grep -c ^sleep$; grep -c left-behind /proc/mounts')).toBe('1\n2\n1\n2\n');
    // The pool refills while the first learner works; then the first learner leaves.
    await until('the pool to refill', () => lab.server.lab.warmPool().ready === 2);
    await first.request('sandbox:close', { sandboxId: a.sandbox.sandboxId });

    const others: LabClient[] = await Promise.all([lab.connect(), lab.connect()]);
    for (const [i, client] of others.entries()) {
      const warm = await warmIds(lab);
      const b = await openShell(client, `fresh-${i}`);
      expect(warm).toContain(b.sandbox.sandboxId);
      // A claimed sandbox never goes back to the pool.
      expect(b.sandbox.sandboxId).not.toBe(a.sandbox.sandboxId);
      const seen = await checkOutput(
        client,
        b.sandbox.sandboxId,
        'ls /tmp /root /dev/shm; hostname; grep -c left-behind /proc/mounts; ps -eo comm= | grep -c ^sleep$; ' +
          'ipcs -q | grep -c 0x; ipcs -m | grep -c 0x; ip -o link | cut -d: -f2; ls /run/netns 2>&1 | grep -c left; true',
      );
      expect(seen.split('\n').filter(Boolean)).toEqual(['/dev/shm:', '', '/root:', '', '/tmp:', b.sandbox.hostname, '0', '0', '0', '0', ' lo', '0'].filter(Boolean));
      expect(b.sandbox.hostname).toBe(b.sandbox.sandboxId);
    }
    expect(await warmIds(lab)).not.toContain(a.sandbox.sandboxId);
  });
});

describe('the pool', () => {
  it('keeps to the global limit and each session’s limit, and refills after claims', async () => {
    const lab = await labWith({ ISOLAB_WARM_SANDBOXES: '3', ISOLAB_MAX_SANDBOXES: '4', ISOLAB_MAX_SANDBOXES_PER_SESSION: '2' });
    await until('three warm sandboxes', () => lab.server.lab.warmPool().ready === 3);
    expect(lab.server.lab.size).toBe(3);

    // One learner takes two warm sandboxes; the pool refills only to what the global limit leaves.
    const x = await lab.connect();
    const x1 = await openShell(x, 'x1');
    const x2 = await openShell(x, 'x2');
    await until('the refill', () => lab.server.lab.warmPool().ready === 2 && lab.server.lab.warmPool().starting === 0);
    expect((await lab.server.runtime.list()).length).toBe(4);
    // The session's limit holds with warm sandboxes ready: the pool cannot be drained by one learner.
    await expect(x.request('sandbox:open', { key: 'x3' })).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    expect(lab.server.lab.warmPool().ready).toBe(2);

    const y = await lab.connect();
    const y1 = await openShell(y, 'y1');
    await openShell(y, 'y2');
    expect(lab.server.lab.warmPool()).toMatchObject({ ready: 0, starting: 0 });
    // Every place is a learner's: a clear LAB_FULL, never a wait, and no container beyond the limit.
    const z = await lab.connect();
    await expect(z.request('sandbox:open', { key: 'z1' })).rejects.toMatchObject({
      code: 'LAB_FULL',
      message: 'The lab is full: 4 of 4 sandboxes are in use. Try again in a few minutes.',
    });
    expect((await lab.server.runtime.list()).length).toBe(4);

    // A learner leaves: the place goes back to the pool.
    await y.request('sandbox:close', { sandboxId: y1.sandbox.sandboxId });
    await until('the refill after a close', () => lab.server.lab.warmPool().ready === 1);
    expect((await lab.server.runtime.list()).length).toBe(4);
    const z1 = await openShell(z, 'z1');
    expect(z1.sandbox.sandboxId).toMatch(/^sbx-/);
    for (const [client, shell] of [[x, x1], [x, x2]] as const) await client.request('sandbox:close', { sandboxId: shell.sandbox.sandboxId });
  });

  it('gets ready for a class when the instructor asks, within the global limit', async () => {
    const lab = await labWith({ ISOLAB_WARM_SANDBOXES: '0', ISOLAB_MAX_SANDBOXES: '5' });
    const instructor = await lab.connect({ instructorToken: lab.server.instructorToken });
    const asked = await instructor.request('class:warm-up', { learners: 8 });
    expect(asked).toMatchObject({ reserved: 5, target: 5 });
    await until('five warm sandboxes', () => lab.server.lab.warmPool().ready === 5);
    const state = await instructor.request('class:watch', {});
    expect(state.warmPool).toMatchObject({ ready: 5, reserved: 5 });
    // Learners claim them; a claim is counted off the reservation, so the pool does not refill past it.
    const learner = await lab.connect();
    await learner.request('sandbox:open', { key: 'one' });
    expect(lab.server.lab.warmPool()).toMatchObject({ ready: 4, reserved: 4 });
    // A learner may not ask.
    await expect(learner.request('class:warm-up', { learners: 3 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('no warm sandbox outlives lab-server', () => {
  it('after a shutdown, even one while warm sandboxes are still starting: no container, cgroup, mount or bundle', async () => {
    const env = await labChildEnv({ ISOLAB_WARM_SANDBOXES: '3' });
    cleanups.push(() => removeLabChildFootprint(env));
    const lab = await startLabChild(env);
    cleanups.push(() => lab.stop());
    // Stopped while the pool fills (two start at a time, so the third is still to come).
    await until('a warm container', () => leftovers(env).containers.length >= 1);
    await lab.stop();
    expect(leftovers(env)).toEqual({ containers: [], cgroups: [], mounts: [], bundles: [] });
  });

  it('after a kill -9 and a restart: none of the old warm sandboxes is left', async () => {
    const env = await labChildEnv({ ISOLAB_WARM_SANDBOXES: '3' });
    cleanups.push(() => removeLabChildFootprint(env));
    const first = await startLabChild(env);
    cleanups.push(() => first.stop());
    await until('three warm containers', () => leftovers(env).containers.length === 3);
    const old = leftovers(env).containers;
    first.process.kill('SIGKILL');
    await first.exited();

    const second = await startLabChild({ ...env, ISOLAB_WARM_SANDBOXES: '0' });
    cleanups.push(() => second.stop());
    const after = leftovers(env);
    for (const id of old) {
      expect(after.containers).not.toContain(id);
      expect(after.bundles).not.toContain(id);
      expect(after.cgroups.filter((dir) => dir.endsWith(id))).toEqual([]);
      expect(after.mounts.filter((mount) => mount.includes(id))).toEqual([]);
    }
    await second.stop();
    // Nothing of either run is left: the views the first one made for its uid slots included.
    expect(leftovers(env)).toEqual({ containers: [], cgroups: [], mounts: [], bundles: [] });
  });
});
