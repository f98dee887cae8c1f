/**
 * Ownership and the handshake: a sandbox belongs to the token that made it, and a connection
 * from a foreign origin or an old protocol never gets in.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LabClient } from '../../lib/lab-client';
import type { Shell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { TEST_ORIGIN, useTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;
let intruder: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'owned' }, (context) => ({ lab, shell } = context));
beforeAll(async () => {
  intruder = await lab.connect();
});

describe('another session', () => {
  const sandboxId = () => shell.sandbox.sandboxId;
  const terminalId = () => shell.term.terminalId;

  it('cannot attach to the terminal', async () => {
    await expect(TerminalDriver.open(intruder, sandboxId(), { terminalId: terminalId() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('cannot run checks, open terminals or close the sandbox', async () => {
    await expect(intruder.request('check:run', { sandboxId: sandboxId(), command: 'id' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(intruder.request('terminal:open', { sandboxId: sandboxId(), cols: 80, rows: 24 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(intruder.request('sandbox:close', { sandboxId: sandboxId() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(intruder.request('terminal:close', { terminalId: terminalId() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('cannot type into or resize the terminal; it is told no', async () => {
    const errors: string[] = [];
    intruder.on('lab:error', (error) => errors.push(`${error.event}:${error.code}`));
    intruder.send('terminal:input', { terminalId: terminalId(), data: 'touch /tmp/intruder-was-here\r' });
    intruder.send('terminal:resize', { terminalId: terminalId(), cols: 20, rows: 5 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(errors).toEqual(['terminal:input:NOT_FOUND', 'terminal:resize:NOT_FOUND']);
    const out = await shell.term.exec('ls /tmp/intruder-was-here 2>&1; stty size');
    expect(out).toMatch(/No such file/);
    expect(out).not.toMatch(/^5 20$/m);
  });

  it('does not see the sandbox in its list', async () => {
    expect(await intruder.request('sandbox:list', {})).toEqual([]);
  });
});

describe('the handshake', () => {
  it('refuses a foreign Origin with a sentence that says how to allow it', async () => {
    await expect(LabClient.connect(lab.url, { origin: 'http://evil.example' })).rejects.toMatchObject({
      code: 'ORIGIN_REFUSED',
      message: expect.stringContaining('ISOLAB_ALLOWED_ORIGINS'),
    });
  });

  it('refuses a connection without an Origin', async () => {
    await expect(LabClient.connect(lab.url)).rejects.toMatchObject({ code: 'ORIGIN_REFUSED' });
  });

  it('refuses another protocol version, telling the learner to reload', async () => {
    await expect(LabClient.connect(lab.url, { origin: TEST_ORIGIN, protocolVersion: 999 })).rejects.toMatchObject({
      code: 'PROTOCOL_MISMATCH',
      message: expect.stringContaining('Reload the page'),
    });
  });

  it('gives an unknown or malformed token a new, empty session', async () => {
    const client = await LabClient.connect(lab.url, { origin: TEST_ORIGIN, token: 'x'.repeat(43) });
    expect(client.session!.isNew).toBe(true);
    expect(client.session!.token).not.toBe('x'.repeat(43));
    expect(await client.request('sandbox:list', {})).toEqual([]);
    client.close();
    await expect(LabClient.connect(lab.url, { origin: TEST_ORIGIN, token: 'short' })).rejects.toMatchObject({ code: 'BAD_HANDSHAKE' });
  });

  // Last in the file: it uses up this address's allowance of new sessions.
  it('refuses a flood of new sessions from one address, but lets known sessions back in', async () => {
    const known = await lab.connect();
    const token = known.session!.token;
    known.close();
    const refusals: string[] = [];
    for (let i = 0; i < 300 && refusals.length === 0; i++) {
      const client = await LabClient.connect(lab.url, { origin: TEST_ORIGIN }).catch((error: { code: string; message: string }) => error);
      if (client instanceof LabClient) client.close();
      else refusals.push(`${client.code}: ${client.message}`);
    }
    expect(refusals[0]).toBe('TOO_MANY_CONNECTIONS: Too many new sessions from your address. Wait a minute, then reload.');
    const back = await LabClient.connect(lab.url, { origin: TEST_ORIGIN, token });
    expect(back.session!.isNew).toBe(false);
    back.close();
  });
});
