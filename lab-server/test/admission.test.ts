/**
 * Admission and lifetimes: limits refuse with a sentence that says why, never a hang; idle and
 * over-age sandboxes end, and their owners are told.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openShell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;

beforeAll(async () => {
  lab = await startTestLab({ ISOLAB_MAX_SANDBOXES: '3', ISOLAB_MAX_SANDBOXES_PER_SESSION: '2', ISOLAB_IDLE_SECONDS: '10', ISOLAB_MAX_LIFETIME_SECONDS: '3600' });
});
afterAll(() => lab.close());

describe('admission', () => {
  it('reuses the session’s sandbox for the same key', async () => {
    const client = await lab.connect();
    const first = await client.request('sandbox:open', { key: 'same' });
    const again = await client.request('sandbox:open', { key: 'same' });
    expect(again.sandboxId).toBe(first.sandboxId);
    await client.request('sandbox:close', { sandboxId: first.sandboxId });
  });

  it('per session: recycles a sandbox nobody watches, refuses when all are watched', async () => {
    const client = await lab.connect();
    const a = await openShell(client, 'a');
    const b = await openShell(client, 'b');
    // Both are watched: a third is refused.
    await expect(client.request('sandbox:open', { key: 'c' })).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
      message: expect.stringContaining('You already have 2 sandboxes open'),
    });
    // Stop watching a: it makes room, and its owner is told why.
    const closed = new Promise<string>((resolve) => client.on('sandbox:closed', (e) => e.sandboxId === a.sandbox.sandboxId && resolve(e.message)));
    client.send('terminal:detach', { terminalId: a.term.terminalId });
    const c = await client.request('sandbox:open', { key: 'c' });
    expect(await closed).toContain('to make room');
    expect((await client.request('sandbox:list', {})).map((s) => s.sandboxId).sort()).toEqual([b.sandbox.sandboxId, c.sandboxId].sort());
    await client.request('sandbox:close', { sandboxId: b.sandbox.sandboxId });
    await client.request('sandbox:close', { sandboxId: c.sandboxId });
  });

  it('globally: a full lab says so in numbers', async () => {
    const clients = await Promise.all([lab.connect(), lab.connect()]);
    const opened = [
      await openShell(clients[0], 'g1'),
      await openShell(clients[0], 'g2'),
      await openShell(clients[1], 'g3'),
    ];
    await expect(clients[1].request('sandbox:open', { key: 'g4' })).rejects.toMatchObject({
      code: 'LAB_FULL',
      message: 'The lab is full: 3 of 3 sandboxes are in use. Try again in a few minutes.',
    });
    for (const [i, { sandbox }] of opened.entries()) await clients[i < 2 ? 0 : 1].request('sandbox:close', { sandboxId: sandbox.sandboxId });
    expect((await clients[1].request('sandbox:open', { key: 'g4' })).sandboxId).toMatch(/^sbx-/);
  });

  it('when the instructor closes the lab, new sandboxes are refused and old ones carry on', async () => {
    const client = await lab.connect();
    const existing = await openShell(client, 'before-closing');
    lab.server.lab.acceptingNew = false;
    try {
      await expect(client.request('sandbox:open', { key: 'after-closing' })).rejects.toMatchObject({ code: 'LAB_CLOSED' });
      expect(await existing.term.exec('echo carrying-on')).toMatch(/^carrying-on$/m);
    } finally {
      lab.server.lab.acceptingNew = true;
    }
  });
});

describe('lifetimes', () => {
  it('closes an idle sandbox and tells its owner', async () => {
    const client = await lab.connect();
    const { sandbox, term } = await openShell(client, 'idle');
    await term.exec('true');
    const closed = await new Promise<{ reason: string; message: string }>((resolve) =>
      client.on('sandbox:closed', (e) => e.sandboxId === sandbox.sandboxId && resolve(e)),
    );
    expect(closed.reason).toBe('idle');
    expect(closed.message).toMatch(/without activity/);
  }, 40_000);
});

describe('the run terminal', () => {
  it('closing it closes the sandbox', async () => {
    // The sandboxes of the tests above were closed as idle; their places are free once their
    // teardowns, which run after their owners are told, are done.
    await vi.waitFor(() => expect(lab.server.lab.size).toBeLessThan(lab.server.lab.maxSandboxes), { timeout: 30_000, interval: 100 });
    const client = await lab.connect();
    const { sandbox } = await openShell(client, 'close-run');
    await TerminalDriver.open(client, sandbox.sandboxId);
    const closed = new Promise<string>((resolve) => client.on('sandbox:closed', (e) => e.sandboxId === sandbox.sandboxId && resolve(e.reason)));
    await client.request('terminal:close', { terminalId: sandbox.terminals[0].terminalId });
    expect(await closed).toBe('closed');
    expect(await client.request('sandbox:list', {})).toEqual([]);
    // The owner is told at once; the container's teardown then waits its turn in the spawn queue.
    await vi.waitFor(async () => expect(await lab.server.runtime.list()).not.toContain(sandbox.sandboxId), { timeout: 10_000, interval: 100 });
  });
});
