import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;
let client: LabClient;

beforeAll(async () => {
  lab = await startTestLab();
  client = await lab.connect();
});
afterAll(() => lab.close());

describe('terminals', () => {
  it('opens a sandbox whose first terminal is a root shell in it', async () => {
    const sandbox = await client.request('sandbox:open', { key: 'smoke' });
    expect(sandbox.terminals).toHaveLength(1);
    expect(sandbox.terminals[0].kind).toBe('run');
    const term = await TerminalDriver.open(client, sandbox.sandboxId, { terminalId: sandbox.terminals[0].terminalId });
    await term.waitFor(`root@${sandbox.hostname}:~#`);
    const out = await term.exec('echo hello-$((6*7)); id -u');
    expect(out).toContain('hello-42');
    expect(out).toMatch(/^0$/m);
  });
});
