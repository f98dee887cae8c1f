/**
 * A dropped connection loses nothing within the grace period: the same token returns to the
 * same sandbox and gets its current screen back. After the grace period the sandbox is removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openShell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;

beforeAll(async () => {
  lab = await startTestLab({ ISOLAB_GRACE_SECONDS: '2' });
});
afterAll(() => lab.close());

describe('reconnect', () => {
  it('replays the screen to the same session, then streams live output', async () => {
    const first = await lab.connect();
    const token = first.session!.token;
    const { sandbox, term } = await openShell(first, 'reconnect');
    await term.exec('echo before-the-drop-$((40+2))');
    first.close();

    const again = await lab.connect({ token });
    expect(again.session).toMatchObject({ isNew: false, sessionId: first.session!.sessionId });
    const [listed] = await again.request('sandbox:list', {});
    expect(listed.sandboxId).toBe(sandbox.sandboxId);
    const replayed = await TerminalDriver.open(again, sandbox.sandboxId, { terminalId: listed.terminals[0].terminalId });
    expect(replayed.snapshot).toContain('before-the-drop-42');
    expect(replayed.bufferText()).toContain('before-the-drop-42');
    expect(await replayed.exec('echo after-the-drop')).toContain('after-the-drop');
  });

  it('a new token does not reach the old sandbox', async () => {
    const first = await lab.connect();
    await openShell(first, 'private');
    const stranger = await lab.connect();
    expect(stranger.session!.isNew).toBe(true);
    expect(await stranger.request('sandbox:list', {})).toEqual([]);
  });

  it('removes a sandbox nobody reconnects to after the grace period', async () => {
    const client = await lab.connect();
    const token = client.session!.token;
    const { sandbox } = await openShell(client, 'abandoned');
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 2000 + 3000));
    expect(sandboxById(lab.server, sandbox.sandboxId)).toBeUndefined();
    expect(await lab.server.runtime.list()).not.toContain(sandbox.sandboxId);
    const back = await lab.connect({ token });
    expect(await back.request('sandbox:list', {})).toEqual([]);
  });
});
