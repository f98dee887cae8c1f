/**
 * Terminals behave like a real terminal: input, output, resize, Ctrl-C, job control, exit codes,
 * and further terminals that join the same sandbox.
 */
import { describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { pollUntil } from './support/attack';
import { checkOutput, openShell, type Shell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { useTestLab, type TestLab } from './support/test-lab';

let lab: TestLab;
let client: LabClient;
let shell: Shell;
useTestLab({ shellKey: 'terminals' }, (context) => ({ lab, client, shell } = context));

/**
 * Waits until `args` runs in the foreground of the first terminal. The shell echoes a command
 * before it starts it, so a Ctrl-C or Ctrl-Z typed at the echo can reach the shell itself, which
 * ignores it, instead of the program.
 */
async function inForeground(args: string): Promise<void> {
  const running = `ps -eo stat=,args= | grep -q '^[^ ]*+ *${args}$'`;
  await checkOutput(client, shell.sandbox.sandboxId, `${pollUntil(running)}; ${running}`);
}

describe('the first terminal', () => {
  it('is a root shell in the sandbox, started by runc run', async () => {
    expect(shell.sandbox.terminals[0].kind).toBe('run');
    const out = await shell.term.exec('echo hello-$((6*7)); id -u');
    expect(out).toContain('hello-42');
    expect(out).toMatch(/^0$/m);
  });

  it('ends lines with CR LF, so output never staircases (lab-server does the ONLCR step itself)', async () => {
    await shell.term.exec('true');
    const before = shell.term.received.length;
    await shell.term.exec("printf 'one\\ntwo\\nthree\\n'");
    const sent = shell.term.received.slice(before);
    expect(sent).toContain('one\r\ntwo\r\nthree\r\n');
    expect(shell.term.bufferText()).toMatch(/^one\ntwo\nthree$/m);
  });

  it('passes a resize on to the program', async () => {
    client.send('terminal:resize', { terminalId: shell.term.terminalId, cols: 132, rows: 43 });
    shell.term.screen.resize(132, 43);
    expect(await shell.term.exec('stty size')).toMatch(/^43 132$/m);
  });

  it('interrupts a running program with Ctrl-C', async () => {
    shell.term.run('sleep 600');
    await inForeground('sleep 600');
    shell.term.type('\x03');
    await shell.term.waitFor(/\^C\s*\n.*# $/);
    expect(await shell.term.exec('echo after-interrupt')).toContain('after-interrupt');
  });

  it('has job control: suspend with Ctrl-Z, list, resume in the background', async () => {
    shell.term.run('sleep 300');
    await inForeground('sleep 300');
    shell.term.type('\x1a');
    await shell.term.waitFor(/Stopped\s+sleep 300/);
    const out = await shell.term.exec('bg %1 >/dev/null; jobs -l');
    expect(out).toMatch(/Running\s+sleep 300/);
    await shell.term.exec('kill %1; wait');
  });
});

describe('more terminals', () => {
  it('join the same sandbox with runc exec', async () => {
    const second = await TerminalDriver.open(client, shell.sandbox.sandboxId);
    expect(second.kind).toBe('exec');
    await second.waitFor(/# $/);
    await shell.term.exec('echo shared > /tmp/shared-file; sleep 777 &');
    const out = await second.exec('cat /tmp/shared-file; ps -e -o args= | grep -c "^sleep 777"; hostname');
    expect(out).toMatch(/^shared$/m);
    expect(out).toMatch(/^1$/m);
    expect(out).toContain(shell.sandbox.hostname);
    second.run('exit 3');
    expect((await second.waitForExit()).exitCode).toBe(3);
    const info = (await client.request('sandbox:list', {})).find((s) => s.sandboxId === shell.sandbox.sandboxId)!;
    expect(info.terminals.map((t) => t.terminalId)).not.toContain(second.terminalId);
  });

  it('are limited per sandbox, with a clear message', async () => {
    const opened: TerminalDriver[] = [];
    let refusal: unknown;
    try {
      for (let i = 0; i < lab.config.maxTerminalsPerSandbox + 1; i++) opened.push(await TerminalDriver.open(client, shell.sandbox.sandboxId));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({ code: 'TERMINAL_LIMIT', message: expect.stringMatching(/already has \d+ of 4 terminals open/) });
    for (const terminal of opened) await client.request('terminal:close', { terminalId: terminal.terminalId });
  });
});

describe('when the init shell exits', () => {
  it('the sandbox ends and its owner is told why', async () => {
    const own = await openShell(client, 'exiting');
    const closed = new Promise<{ reason: string; message: string }>((resolve) =>
      client.on('sandbox:closed', (event) => event.sandboxId === own.sandbox.sandboxId && resolve(event)),
    );
    own.term.run('exit 5');
    expect((await own.term.waitForExit()).exitCode).toBe(5);
    expect(await closed).toMatchObject({ reason: 'exited', message: expect.stringContaining('code 5') });
    await expect(client.request('check:run', { sandboxId: own.sandbox.sandboxId, command: 'true' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
