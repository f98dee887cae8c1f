/**
 * Opens a sandbox and attaches to its init shell, waiting for the prompt: the first step of
 * most server tests.
 */
import type { SandboxInfo } from '../../../protocol';
import type { LabClient } from '../../../lib/lab-client';
import { TerminalDriver } from './terminal-driver';

export interface Shell {
  sandbox: SandboxInfo;
  term: TerminalDriver;
}

export async function openShell(client: LabClient, key: string, options: { keepText?: boolean } = {}): Promise<Shell> {
  const sandbox = await client.request('sandbox:open', { key });
  const term = await TerminalDriver.open(client, sandbox.sandboxId, { terminalId: sandbox.terminals[0].terminalId, keepText: options.keepText });
  await term.waitFor(`root@${sandbox.hostname}:~# `);
  return { sandbox, term };
}

/** Runs a check (runc exec, no tty) and returns its stdout, failing loudly if it did not exit 0. */
export async function checkOutput(client: LabClient, sandboxId: string, command: string): Promise<string> {
  const result = await client.request('check:run', { sandboxId, command });
  if (result.exitCode !== 0) throw new Error(`"${command}" exited ${result.exitCode}: ${result.stderr || result.stdout}`);
  return result.stdout;
}
