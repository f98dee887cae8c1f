/**
 * A pty on the host whose process the spawner starts (runtime/spawner.ts): lab-server opens the
 * pty pair itself (openpty(3), a few syscalls, no fork), keeps the master, and the spawner's
 * helper starts the process on the slave, as its controlling terminal in a session of its own.
 *
 * Why not node-pty's spawn: on Linux it calls forkpty(3) on the calling thread, i.e. forks the
 * whole lab-server on its event loop, once per sandbox start and per terminal (the class-start
 * breakdown measured 115 ms p50 for it on a loaded box). A fork from a worker thread would still
 * stall the loop (see spawner.ts).
 *
 * What is node-pty's here: its native openpty and resize (an ioctl on the master), and how it
 * reads and writes the master: a tty.ReadStream, writes queued with fs.write and retried on
 * EAGAIN (a write that fits goes at once, see write()), and the exit reported once the master has given its last output (EIO), or 200 ms after
 * the process ended if it never does. The terminal starts with the kernel's default settings
 * instead of node-pty's; runc sets its side raw at once, which leaves them the same.
 */
import { closeSync, write, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ReadStream } from 'node:tty';
import type { Disposable, PtyProcess } from './runtime';
import { spawnOnTerminal } from './spawner';

interface NativePty {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}
const native = (createRequire(import.meta.url)('node-pty/lib/utils') as { loadNativeModule(name: string): { module: NativePty } }).loadNativeModule('pty').module;

/** How long the exit waits for the master's last output, as node-pty waits. */
const LAST_OUTPUT_WAIT_MS = 200;

export interface HostPty extends PtyProcess {
  /** The slave's path (/dev/pts/N). */
  readonly ptsName: string;
  /** The process's pid on the host, once it has started. */
  readonly pid: number | undefined;
}

export function spawnHostPty(file: string, args: string[], options: { env: Record<string, string>; cwd: string; cols: number; rows: number }): HostPty {
  const { master, slave, pty: ptsName } = native.open(options.cols, options.rows);
  // lab-server holds the slave until the process has its own: until then, reading the master
  // would end at once (EIO) as if the process had gone.
  let slaveOpen = true;
  const closeSlave = () => {
    if (slaveOpen) closeSync(slave);
    slaveOpen = false;
  };
  const child = spawnOnTerminal(file, args, ptsName, { env: options.env, cwd: options.cwd });

  const dataListeners = new Set<(data: string) => void>();
  const exitListeners = new Set<(exit: { exitCode: number; signal?: number }) => void>();
  const emitData = (data: string) => {
    for (const listener of dataListeners) listener(data);
  };
  let exit: { exitCode: number; signal?: number } | undefined;
  let masterClosed = false;
  let exitTimer: NodeJS.Timeout | undefined;
  const reportExit = () => {
    if (!exit || !masterClosed) return;
    clearTimeout(exitTimer);
    for (const listener of exitListeners) listener(exit);
    exitListeners.clear();
  };

  // Writes are queued and written in order; a full pty buffer (EAGAIN) is tried again next turn.
  const writes: Array<{ buffer: Buffer; offset: number }> = [];
  const reader = new ReadStream(master);
  reader.setEncoding('utf8');
  reader.on('data', (data: string) => emitData(data));
  reader.on('error', (error: NodeJS.ErrnoException) => {
    // EAGAIN comes and goes; EIO is the end: every process on the slave side has closed it.
    if (error.code !== 'EAGAIN') reader.destroy();
  });
  // Closing the stream closes the master: the fd is the stream's from here on.
  reader.on('close', () => {
    masterClosed = true;
    writes.length = 0;
    reportExit();
  });

  child.on('spawn', closeSlave);
  // Could not be started at all (say, setsid missing): shown where forkpty's failure would be.
  child.on('error', (error) => emitData(`${error.message}\r\n`));
  child.on('close', ({ code, signal }) => {
    closeSlave();
    exit = signal ? { exitCode: 0, signal } : { exitCode: code ?? 1 };
    if (!masterClosed) exitTimer = setTimeout(() => reader.destroy(), LAST_OUTPUT_WAIT_MS);
    reportExit();
  });

  const writeNext = () => {
    const task = writes[0];
    if (!task || masterClosed) return;
    write(master, task.buffer, task.offset, (error, written) => {
      if (masterClosed) return;
      if (error) {
        if (error.code === 'EAGAIN') setImmediate(writeNext);
        else writes.length = 0; // the process is gone; its exit follows
        return;
      }
      task.offset += written;
      if (task.offset >= task.buffer.byteLength) writes.shift();
      writeNext();
    });
  };

  const subscribe = <T>(listeners: Set<T>, listener: T): Disposable => {
    listeners.add(listener);
    return { dispose: () => listeners.delete(listener) };
  };
  return {
    ptsName,
    get pid() {
      return child.pid;
    },
    onData: (listener) => subscribe(dataListeners, listener),
    onExit: (listener) => subscribe(exitListeners, listener),
    write: (data) => {
      const buffer = Buffer.from(data, 'utf8');
      if (masterClosed || buffer.byteLength === 0) return;
      let offset = 0;
      if (writes.length === 0) {
        // A keystroke goes straight to the pty: the master is non-blocking (libuv set it so for
        // the read stream), so this syscall never waits, and the keystroke does not queue for
        // libuv's thread pool behind lab-server's file work (cgroup reads, observe scans). What
        // does not fit now (a full pty buffer) is queued as before.
        try {
          offset = writeSync(master, buffer);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return; // the process is gone; its exit follows
        }
        if (offset >= buffer.byteLength) return;
      }
      writes.push({ buffer, offset });
      if (writes.length === 1) writeNext();
    },
    resize: (cols, rows) => {
      if (masterClosed) return;
      try {
        native.resize(master, cols, rows);
      } catch {
        // The pty closed between the check and the call; the exit event follows.
      }
    },
    pause: () => void reader.pause(),
    resume: () => void reader.resume(),
    // Through the helper, which signals only its own child: never a pid the kernel gave to another.
    kill: (signal = 'SIGHUP') => child.kill(signal as NodeJS.Signals),
  };
}
