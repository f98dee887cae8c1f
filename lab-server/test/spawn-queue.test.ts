/**
 * Fair spawning: when a class opens a lesson at once, sandboxes start a few at a time
 * in arrival order. A learner waiting in line is told how many are ahead, then gets a prompt; a
 * learner who leaves the line gives the place up, and no sandbox is made for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverEvents } from '../../protocol';
import type { LabClient } from '../../lib/lab-client';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab({ ISOLAB_WARM_SANDBOXES: '0', ISOLAB_MAX_SANDBOXES_PER_SESSION: '1' });
});
afterAll(() => lab.close());

/** The `sandbox:queue` events a client receives, each checked against its schema. */
function queueEvents(client: LabClient): number[] {
  const seen: number[] = [];
  client.on('sandbox:queue', (payload) => {
    seen.push(serverEvents['sandbox:queue'].parse(payload).ahead);
  });
  return seen;
}

describe('a class opening a lesson at once', () => {
  it('learners in line are told how many are ahead, then each gets a prompt', async () => {
    const slots = lab.server.lab.spawnSlots;
    const learners = await Promise.all(Array.from({ length: slots + 4 }, () => lab.connect()));
    const positions = learners.map(queueEvents);
    const sandboxes = await Promise.all(learners.map((client) => client.request('sandbox:open', { key: 'class' })));
    // Those who found every slot busy waited in line, and heard so.
    const waited = positions.filter((seen) => seen.length > 0);
    expect(waited.length).toBeGreaterThanOrEqual(4);
    for (const seen of waited) {
      // The line only ever moves forward.
      expect(seen).toEqual([...seen].sort((a, b) => b - a));
    }
    expect(new Set(waited.map((seen) => seen[0])).size).toBe(waited.length);
    // And each of them gets a prompt.
    await Promise.all(
      sandboxes.map(async (sandbox, i) => {
        const term = await TerminalDriver.open(learners[i], sandbox.sandboxId, { terminalId: sandbox.terminals[0].terminalId });
        await term.waitFor(`root@${sandbox.hostname}:~# `);
      }),
    );
    await Promise.all(sandboxes.map((sandbox, i) => learners[i].request('sandbox:close', { sandboxId: sandbox.sandboxId })));
    for (const client of learners) client.close();
  });

  it('a learner who leaves the line frees the place: no sandbox is made for them', async () => {
    const slots = lab.server.lab.spawnSlots;
    const learners = await Promise.all(Array.from({ length: slots + 3 }, () => lab.connect()));
    // The first learner told it has someone ahead (so it is surely still waiting) closes the tab at once.
    let chosen = false;
    const left = new Promise<{ client: LabClient; sessionId: string }>((resolve) => {
      for (const client of learners) {
        client.on('sandbox:queue', ({ ahead }) => {
          if (ahead === 0 || chosen) return;
          chosen = true;
          client.close();
          resolve({ client, sessionId: client.session!.sessionId });
        });
      }
    });
    const opens = learners.map((client) => client.request('sandbox:open', { key: 'leave' }).then(() => client));
    const leaver = await left;
    const stayers = learners.filter((client) => client !== leaver.client);
    await Promise.all(opens.filter((_, i) => learners[i] !== leaver.client));
    const leaverSession = leaver.sessionId;
    expect(lab.server.lab.forSession(leaverSession)).toEqual([]);
    const running = await lab.server.runtime.list();
    expect(running.length).toBe(stayers.length);
    for (const client of stayers) {
      const [sandbox] = await client.request('sandbox:list', {});
      expect(running).toContain(sandbox.sandboxId);
      await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });
      client.close();
    }
  });
});
