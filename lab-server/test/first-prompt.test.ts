/**
 * A lesson with two terminals asks for both at once: terminal 1 attaches to the sandbox's shell,
 * terminal 2 starts a new one (`runc exec`). The first prompt must not wait for the second shell:
 * on one socket, a new shell starts only after the attaches in flight have been answered.
 */
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import type { LabTerminal, TerminalViewer } from '../src/sandbox/terminal';
import type { Shell } from './support/shell';
import { useTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;
let client: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'first-prompt' }, (context) => ({ lab, client, shell } = context));

describe('terminal:open on one socket', () => {
  it('starts a second shell only after the first terminal’s attach is answered', async () => {
    const { sandboxId } = shell.sandbox;
    const runTerminalId = shell.sandbox.terminals[0].terminalId;
    const sandbox = sandboxById(lab.server, sandboxId)!;
    const run = sandbox.terminal(runTerminalId)!;

    // Hold terminal 1's attach where it waits for its screen, and note when a shell is spawned.
    let attachReached!: () => void;
    const reached = new Promise<void>((resolve) => (attachReached = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const attach = run.attach.bind(run);
    run.attach = async (viewer: TerminalViewer) => {
      attachReached();
      await held;
      return attach(viewer);
    };
    const spawned: string[] = [];
    const openTerminal = sandbox.openTerminal.bind(sandbox);
    sandbox.openTerminal = (size): LabTerminal => {
      spawned.push('exec');
      return openTerminal(size);
    };

    try {
      const first = client.request('terminal:open', { sandboxId, terminalId: runTerminalId, cols: 80, rows: 24 });
      const second = client.request('terminal:open', { sandboxId, cols: 80, rows: 24 });
      await reached;
      // Requests on a socket are handled in order, so once this one is answered the server has
      // taken up the second terminal:open too.
      await client.request('sandbox:list', {});
      expect(spawned, 'no runc exec while terminal 1 waits for its screen').toEqual([]);

      release();
      expect((await first).terminalId).toBe(runTerminalId);
      const opened = await second;
      expect(opened.kind).toBe('exec');
      expect(spawned).toEqual(['exec']);
      await client.request('terminal:close', { terminalId: opened.terminalId });
    } finally {
      release();
      run.attach = attach;
      sandbox.openTerminal = openTerminal;
    }
  });
});
