/**
 * Bad input gets a clear error and changes nothing; the server keeps serving. (The fuzzer in
 * fuzz.test.ts sends thousands more; these are the cases a reader should see spelled out.)
 */
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import type { Shell } from './support/shell';
import { useTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;
let client: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'bad-input' }, (context) => ({ lab, client, shell } = context));

type RawEmit = (event: string, ...args: unknown[]) => void;
const emitRaw = (...args: Parameters<RawEmit>) => (client.socket.emit as unknown as RawEmit)(...args);
const ackOf = (event: string, payload: unknown) =>
  new Promise<{ ok: boolean; error?: { code: string; message: string } }>((resolve) => emitRaw(event, payload, resolve));
const nextError = () => new Promise<{ code: string; message: string; event?: string }>((resolve) => client.socket.once('lab:error', resolve));

describe('malformed events', () => {
  it('an unknown event gets UNKNOWN_EVENT', async () => {
    const error = nextError();
    emitRaw('sandbox:explode', {});
    expect(await error).toMatchObject({ code: 'UNKNOWN_EVENT', event: 'sandbox:explode', message: expect.stringContaining('not part of the lab protocol') });
  });

  it.each([
    ['a missing field', 'sandbox:open', {}],
    ['a wrong type', 'sandbox:open', { key: 42 }],
    ['an extra field', 'sandbox:open', { key: 'ok', admin: true }],
    ['a bad id', 'check:run', { sandboxId: '../../etc', command: 'id' }],
    ['a huge command', 'check:run', { sandboxId: 'sbx-00000000', command: 'x'.repeat(100_000) }],
    ['no payload at all', 'sandbox:list', undefined],
  ])('a request with %s is answered BAD_REQUEST, naming the problem', async (_name, event, payload) => {
    const result = await ackOf(event, payload);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining(`"${event}" was rejected`) });
  });

  it.each([
    ['size 0', { cols: 0, rows: 0 }],
    ['size 100000', { cols: 100_000, rows: 100_000 }],
    ['a fractional size', { cols: 80.5, rows: 24 }],
  ])('a resize to %s is refused and the terminal keeps its size', async (_name, size) => {
    const error = nextError();
    client.send('terminal:resize', { terminalId: shell.term.terminalId, ...size });
    expect(await error).toMatchObject({ code: 'BAD_REQUEST', event: 'terminal:resize' });
    expect(await shell.term.exec('stty size')).toMatch(/^30 100$/m);
  });

  it('a request without an ack callback gets an error event instead of silence', async () => {
    const error = nextError();
    emitRaw('sandbox:list', {});
    expect(await error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('acknowledgement') });
  });

  it('after all that, the server and the sandbox still work', async () => {
    const health = await fetch(`${lab.url}/healthz`).then((r) => r.json());
    expect(health).toMatchObject({ status: 'ok', sandboxes: 1 });
    expect(await shell.term.exec('echo still-serving')).toMatch(/^still-serving$/m);
  });
});
