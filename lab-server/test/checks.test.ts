/**
 * Checks run a command in the sandbox without a tty, under a timeout, with bounded output.
 */
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import type { Shell } from './support/shell';
import { useTestLab } from './support/test-lab';

let client: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'checks' }, (context) => ({ client, shell } = context));

const check = (command: string, timeoutMs?: number) => client.request('check:run', { sandboxId: shell.sandbox.sandboxId, command, ...(timeoutMs ? { timeoutMs } : {}) });

describe('check:run', () => {
  it('reports the exit code and both output streams', async () => {
    const result = await check('echo out; echo err >&2; exit 3');
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false, truncated: false });
  });

  it('sees what the learner did in the terminal, from outside any tty', async () => {
    await shell.term.exec('echo made-in-terminal > /root/proof');
    expect((await check('cat /root/proof; tty')).stdout).toBe('made-in-terminal\nnot a tty\n');
  });

  it('ends a command that outlives its timeout, and says so', async () => {
    const result = await check('sleep 30; echo never', 1000);
    expect(result.timedOut).toBe(true);
    expect(result.stdout).not.toContain('never');
    // The sleep is gone from the sandbox, not left behind.
    expect((await check('pgrep -x sleep || echo none')).stdout).toBe('none\n');
  });

  it('cuts output at a fixed size and says it did', async () => {
    const result = await check('head -c 1000000 /dev/zero | tr "\\0" x');
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBe(16 * 1024);
  });

  it('runs one check at a time per sandbox', async () => {
    const slow = check('sleep 1');
    await expect(check('true')).rejects.toMatchObject({ code: 'CHECK_BUSY' });
    await slow;
  });
});
