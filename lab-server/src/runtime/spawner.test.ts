import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runChecked, runProcess, spawnChild, startSpawner } from './spawner';

const ENV = { PATH: '/usr/bin:/bin' };

/** The parent pid of a process, from /proc. */
const stateOf = (pid: number) => /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
const parentOf = (pid: number) => Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('spawner', () => {
  const stopped: number[] = [];
  afterAll(() => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  });

  it('starts processes from its helper, never from lab-server itself, with their output and exit code', async () => {
    const helperPid = startSpawner()!;
    expect(helperPid).not.toBe(process.pid);
    expect(parentOf(helperPid)).toBe(process.pid);
    const result = await runProcess('/bin/sh', ['-c', 'echo "parent $PPID"; echo oops >&2; exit 3'], { env: ENV });
    // The fork that made the shell happened in the helper: lab-server's thread never waited for it.
    expect(result).toMatchObject({ exitCode: 3, signal: null, stdout: `parent ${helperPid}\n`, stderr: 'oops\n', truncated: false, timedOut: false });
  });

  it('keeps serving the event loop while a process cannot start yet', async () => {
    // A spawn whose child cannot exec (its spawner is stopped) must not keep a socket on the
    // loop from being served: a learner's keystroke must not wait for another learner's sandbox.
    const helperPid = startSpawner()!;
    const server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const events: string[] = [];
    try {
      process.kill(helperPid, 'SIGSTOP');
      stopped.push(helperPid);
      await vi.waitFor(() => expect(stateOf(helperPid)).toBe('T'), { interval: 5 });
      const started = runProcess('/bin/echo', ['started'], { env: ENV }).then((result) => events.push(result.stdout.trim()));
      const echoed = await new Promise<string>((resolve) => {
        const client = connect((server.address() as AddressInfo).port, '127.0.0.1', () => client.write('keystroke'));
        client.on('data', (data) => {
          client.end();
          resolve(data.toString());
        });
      });
      events.push(echoed);
      process.kill(helperPid, 'SIGCONT');
      stopped.pop();
      await started;
    } finally {
      server.close();
    }
    expect(events).toEqual(['keystroke', 'started']);
  });

  it('fails as Node does when the file does not exist', async () => {
    const error = await runProcess('/nonexistent/runc', ['list'], { env: ENV }).catch((caught: NodeJS.ErrnoException) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ message: 'spawn /nonexistent/runc ENOENT', code: 'ENOENT' });
    // The same sentence child_process gives today.
    const native = await new Promise<Error>((resolve) => spawn('/nonexistent/runc', ['list']).on('error', resolve));
    expect((error as Error).message).toBe(native.message);
    await expect(runChecked('/nonexistent/runc', ['list'], { env: ENV })).rejects.toThrow('spawn /nonexistent/runc ENOENT');

    const child = spawnChild('/nonexistent/isolab-ns', ['userns'], { env: ENV, stdin: true });
    const events: string[] = [];
    child.on('error', (failure) => events.push(`error ${failure.message}`));
    await new Promise<void>((resolve) => child.on('close', ({ code }) => resolve(void events.push(`close ${code}`))));
    expect(events).toEqual(['error spawn /nonexistent/isolab-ns ENOENT', 'close -2']);
  });

  it('reports a failing command with its stderr', async () => {
    await expect(runChecked('/bin/sh', ['-c', 'echo "no such container" >&2; exit 1'], { env: ENV })).rejects.toThrow(/exit code 1\): no such container/);
    await expect(runChecked('/bin/sh', ['-c', 'echo fine'], { env: ENV })).resolves.toBe('fine\n');
  });

  it('cuts output at the bound in the helper, and says so', async () => {
    const result = await runProcess('/bin/sh', ['-c', 'head -c 300000 /dev/zero; echo tail >&2'], { env: ENV, maxOutputBytes: 1000 });
    expect(result.stdout.length).toBe(1000);
    expect(result.stderr).toBe('tail\n');
    expect(result.truncated).toBe(true);
  });

  it('passes stdin, and ends it', async () => {
    const child = spawnChild('/bin/cat', [], { env: ENV, stdin: true });
    let output = '';
    child.on('stdout', (chunk) => (output += chunk.toString()));
    child.write('ready 42\n');
    child.end();
    const close = await new Promise((resolve) => child.on('close', resolve));
    expect(output).toBe('ready 42\n');
    expect(close).toEqual({ code: 0, signal: null, truncated: false });
  });

  it('kills a process at its timeout', async () => {
    const result = await runProcess('/bin/sleep', ['30'], { env: ENV, timeoutMs: 50 });
    expect(result).toMatchObject({ exitCode: null, signal: 15, timedOut: true });
  });

  it('outlives the signals a shutdown sends to the whole group, so lab-server can still end its sandboxes', async () => {
    const helperPid = startSpawner()!;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(helperPid, signal);
    const result = await runProcess('/bin/sh', ['-c', 'echo $PPID'], { env: ENV });
    expect(Number(result.stdout)).toBe(helperPid);
    expect(startSpawner()).toBe(helperPid);
  });

  it('reports the processes of a spawner that died as failed, and starts a new one', async () => {
    const first = startSpawner()!;
    const child = spawnChild('/bin/sleep', ['30'], { env: ENV });
    const pid = await new Promise<number>((resolve) => child.on('spawn', resolve));
    const failure = new Promise<Error>((resolve) => child.on('error', resolve));
    const closed = new Promise((resolve) => child.on('close', resolve));
    process.kill(first, 'SIGKILL');
    expect((await failure).message).toMatch(/process spawner stopped \(SIGKILL\)/);
    expect(await closed).toEqual({ code: null, signal: null, truncated: false });
    process.kill(pid, 'SIGKILL');
    const result = await runProcess('/bin/sh', ['-c', 'echo $PPID'], { env: ENV });
    expect(Number(result.stdout)).not.toBe(first);
    expect(Number(result.stdout)).toBe(startSpawner());
  });
});
