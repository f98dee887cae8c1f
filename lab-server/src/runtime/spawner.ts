/**
 * The spawner: every process lab-server starts while it serves learners (runc, its namespace
 * helper, mounts, stty) is started by a small helper process (spawner-process.mjs), never by
 * lab-server's own thread.
 *
 * Why: to start a process, libuv forks the caller and then waits until the child has exec'd, on
 * the calling thread. For lab-server that thread is the event loop every learner's keystrokes go
 * through. The fork copies lab-server's page tables (its cost grows with its memory), and on a
 * busy host the child must get a CPU before it can exec. Measured on the 2-core box at load 18:
 * one spawn held the loop 52 / 60 / 104 ms (p50) at 76 / 201 / 401 MiB, up to 264 ms, and a
 * sandbox start does several. A class of 30 opening a lesson at once made that seconds of frozen
 * terminals for everyone.
 *
 * Why a process and not a worker thread: a worker still forks lab-server, so the fork still copies
 * its page tables, and lab-server's thread stalls on its own page faults while the kernel does it
 * (and on copy-on-write faults until the child execs). Measured with 440 MiB of touched memory,
 * 30 spawns, the event loop's worst gap was 55-100 ms spawning on the loop, 30-47 ms spawning on a
 * worker, 4-11 ms asking a helper process (`npm run bench -- spawn-block`). The helper is ~40 MiB,
 * so its forks are cheap, and they never touch lab-server's memory.
 *
 * The helper is started once per lab-server process, at first use (servers start it with
 * `startSpawner()` before anything else, so it inherits no terminal), and again if it ever dies;
 * processes running when it died are reported as failed. It exits with lab-server.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';

const HELPER = join(import.meta.dirname, 'spawner-process.mjs');

export interface SpawnOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Whether lab-server writes to the child's stdin (`write`, `end`); otherwise it reads /dev/null. */
  stdin?: boolean;
  /** Output beyond this many bytes per stream is dropped in the helper, never sent to lab-server. */
  maxOutputBytes?: number;
}

/** Messages to the helper. */
type ToSpawner =
  | ({ op: 'spawn'; id: number; file: string; args: string[]; tty?: string } & Required<Pick<SpawnOptions, 'env' | 'stdin'>> & Omit<SpawnOptions, 'env' | 'stdin'>)
  | { op: 'write'; id: number; data: Buffer }
  | { op: 'end'; id: number }
  | { op: 'kill'; id: number; signal: NodeJS.Signals };

/** Messages from the helper, about one child each. */
type FromSpawner =
  | { id: number; event: 'spawn'; pid: number }
  | { id: number; event: 'stdout' | 'stderr'; data: Uint8Array }
  | { id: number; event: 'error'; error: SpawnErrorData }
  | { id: number; event: 'close'; code: number | null; signal: number | null; truncated: boolean };

interface SpawnErrorData {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

/** How a child ended: its exit code, or the number of the signal that ended it. */
export interface ChildClose {
  code: number | null;
  signal: number | null;
  /** Output was cut at maxOutputBytes. */
  truncated: boolean;
}

interface ChildEvents {
  spawn: [pid: number];
  stdout: [chunk: Buffer];
  stderr: [chunk: Buffer];
  /** The child could not be started (e.g. ENOENT), with Node's own message; `close` follows. */
  error: [error: NodeJS.ErrnoException];
  close: [close: ChildClose];
}

/** A process the helper started: a ChildProcess reduced to what lab-server uses. */
export class SpawnedChild extends EventEmitter<ChildEvents> {
  pid: number | undefined;
  closed = false;

  constructor(
    private readonly helper: Helper,
    readonly id: number,
  ) {
    super();
  }

  write(data: Buffer | string): void {
    if (!this.closed) this.helper.send({ op: 'write', id: this.id, data: Buffer.from(data) });
  }

  end(): void {
    if (!this.closed) this.helper.send({ op: 'end', id: this.id });
  }

  /** Quiet if the child is already gone. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.closed) this.helper.send({ op: 'kill', id: this.id, signal });
  }

  /** @internal */
  deliver(message: FromSpawner): void {
    switch (message.event) {
      case 'spawn':
        this.pid = message.pid;
        this.emit('spawn', message.pid);
        break;
      case 'stdout':
      case 'stderr':
        this.emit(message.event, Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
        break;
      case 'error':
        // An 'error' without a listener would throw, as a ChildProcess's does.
        this.emit('error', Object.assign(new Error(message.error.message), message.error));
        break;
      case 'close':
        this.closed = true;
        this.emit('close', { code: message.code, signal: message.signal, truncated: message.truncated });
        break;
    }
  }
}

/** The helper process and the children it runs for this lab-server. */
class Helper {
  private readonly process: ChildProcess;
  private readonly children = new Map<number, SpawnedChild>();
  private nextId = 1;
  exited = false;

  constructor() {
    this.process = fork(HELPER, [], {
      // Plain node: no TypeScript loader or test runner hooks from lab-server's own command line.
      execArgv: [],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      // Buffers cross as Buffers, not as JSON arrays of numbers.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (message: FromSpawner) => {
      const child = this.children.get(message.id);
      if (!child) return;
      if (message.event === 'close') this.forget(message.id);
      child.deliver(message);
    });
    // A message to a helper that has just died fails (EPIPE) before its 'exit' arrives, and
    // 'exit' fails its children: nothing more to do here, but an unhandled 'error' would crash.
    this.process.on('error', () => undefined);
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      if (current === this) current = undefined;
      const cause = `lab-server's process spawner stopped (${signal ?? `exit code ${code}`})`;
      for (const [id, child] of this.children) {
        this.forget(id);
        child.deliver({ id, event: 'error', error: { message: cause, code: 'ESPAWNER' } });
        child.deliver({ id, event: 'close', code: null, signal: null, truncated: false });
      }
    });
    this.holdLoop(false);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  spawn(file: string, args: string[], options: SpawnOptions & { tty?: string }): SpawnedChild {
    const child = new SpawnedChild(this, this.nextId++);
    this.children.set(child.id, child);
    this.holdLoop(true);
    this.send({ op: 'spawn', id: child.id, file, args, stdin: false, ...options });
    return child;
  }

  send(message: ToSpawner): void {
    if (!this.exited) this.process.send(message);
  }

  private forget(id: number): void {
    this.children.delete(id);
    if (this.children.size === 0) this.holdLoop(false);
  }

  /** Like a child process of its own: lab-server stays up while a child runs, and not for an idle helper. */
  private holdLoop(hold: boolean): void {
    if (hold) {
      this.process.ref();
      this.process.channel?.ref();
    } else {
      this.process.unref();
      this.process.channel?.unref();
    }
  }
}

let current: Helper | undefined;

function helper(): Helper {
  current ??= new Helper();
  return current;
}

/** Starts the helper now, while lab-server has no terminal open for it to inherit. Returns its pid. */
export function startSpawner(): number | undefined {
  return helper().pid;
}

/**
 * Starts `file` with `args` from the helper (as child_process.spawn would, with pipes for stdout
 * and stderr). A file that cannot be run gives an 'error' with Node's own message
 * ("spawn prlimit ENOENT"), then 'close' with code -2.
 */
export function spawnChild(file: string, args: string[], options: SpawnOptions): SpawnedChild {
  return helper().spawn(file, args, options);
}

/**
 * Starts `file` on the terminal at `ttyPath` (a pty's slave, whose master lab-server holds), as
 * its controlling terminal, in a session of its own. Output goes to the terminal, not to 'stdout'.
 */
export function spawnOnTerminal(file: string, args: string[], ttyPath: string, options: Pick<SpawnOptions, 'env' | 'cwd'>): SpawnedChild {
  return helper().spawn(file, args, { ...options, tty: ttyPath });
}

export interface RunResult {
  /** null if it ended by a signal or could not be started. */
  exitCode: number | null;
  signal: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** It was killed at `timeoutMs`. */
  timedOut: boolean;
}

/**
 * Runs `file` to the end and collects its output (execFile, through the helper). Rejects only if
 * it could not be started at all, with Node's error (code ENOENT, say); a non-zero exit resolves.
 */
export function runProcess(
  file: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number; killSignal?: NodeJS.Signals },
): Promise<RunResult> {
  const child = spawnChild(file, args, options);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.on('stdout', (chunk) => stdout.push(chunk));
  child.on('stderr', (chunk) => stderr.push(chunk));
  let timedOut = false;
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill(options.killSignal ?? 'SIGTERM');
        }, options.timeoutMs);
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    child.on('error', (error) => (failure ??= error));
    child.on('close', ({ code, signal, truncated }) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        truncated,
        timedOut,
      });
    });
  });
}

/** runProcess, for commands that must succeed: rejects with the command's stderr if it exits non-zero. */
export async function runChecked(file: string, args: string[], options: SpawnOptions & { timeoutMs?: number }): Promise<string> {
  const result = await runProcess(file, args, options);
  if (result.exitCode !== 0) {
    const why = result.timedOut ? `timed out after ${options.timeoutMs} ms` : result.signal ? `killed by signal ${result.signal}` : `exit code ${result.exitCode}`;
    throw Object.assign(new Error(`${file} ${args[0] ?? ''} failed (${why}): ${result.stderr.trim()}`), { stderr: result.stderr, exitCode: result.exitCode });
  }
  return result.stdout;
}
