// @ts-check
/**
 * The spawner's helper process: it starts the processes lab-server asks for and reports what
 * they do (see spawner.ts for why it exists and for the messages, typed there as `ToSpawner` and
 * `FromSpawner`).
 *
 * Plain JavaScript on purpose: it runs under plain `node`, without lab-server's TypeScript loader,
 * so it starts in a few tens of milliseconds and stays small; its own forks stay cheap.
 *
 * It exits when lab-server goes (the IPC channel closes), whatever the reason, so a lab-server
 * killed with -9 leaves no spawner behind. Its children see their pipes close, as they would if
 * lab-server had started them itself.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

const send = /** @type {(message: unknown) => void} */ (process.send?.bind(process));
if (!send) throw new Error('spawner-process.mjs runs as lab-server\'s child, with an IPC channel');

closeInheritedTerminals();

/** @type {Map<number, import('node:child_process').ChildProcess>} */
const children = new Map();

process.on('disconnect', () => process.exit(0));
// A Ctrl-C in lab-server's terminal, or a service manager's SIGTERM to every process of the
// service, reaches the spawner too: it must stay until lab-server, shutting down, has ended every
// sandbox through it (runc kill, runc delete). It exits with lab-server (above).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);
process.on('message', (/** @type {any} */ message) => {
  switch (message.op) {
    case 'spawn':
      start(message);
      break;
    case 'write':
      children.get(message.id)?.stdin?.write(message.data);
      break;
    case 'end':
      children.get(message.id)?.stdin?.end();
      break;
    case 'kill':
      try {
        children.get(message.id)?.kill(message.signal);
      } catch {
        // Already gone: its close is on the way.
      }
      break;
  }
});

/**
 * @param {{ id: number, file: string, args: string[], env: Record<string, string>, cwd?: string,
 *   stdin: boolean, maxOutputBytes?: number, tty?: string }} request
 */
function start({ id, file, args, env, cwd, stdin, maxOutputBytes = Infinity, tty }) {
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  /** @type {number | undefined} */
  let ttyFd;
  try {
    if (tty) {
      // A terminal whose other end (the pty master) lab-server holds. `setsid --ctty` makes the
      // child a session leader with this terminal as its controlling terminal, as forkpty(3)
      // would: a resize then reaches it as SIGWINCH, and closing the master hangs it up.
      ttyFd = openSync(tty, constants.O_RDWR | constants.O_NOCTTY);
      child = spawn('setsid', ['--ctty', file, ...args], { env, cwd, stdio: [ttyFd, ttyFd, ttyFd] });
    } else {
      child = spawn(file, args, { env, cwd, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    }
  } catch (error) {
    // A synchronous refusal (bad arguments, a terminal that cannot be opened).
    send({ id, event: 'error', error: describe(error) });
    send({ id, event: 'close', code: null, signal: null, truncated: false });
    return;
  } finally {
    // The child has its own copy; the terminal must close when the child's side does.
    if (ttyFd !== undefined) closeSync(ttyFd);
  }
  children.set(id, child);
  let truncated = false;
  /** @param {'stdout' | 'stderr'} stream */
  const forward = (stream) => {
    let left = maxOutputBytes;
    child[stream]?.on('data', (/** @type {Buffer} */ chunk) => {
      // What lab-server would only throw away is not sent to it: its cost stays bounded.
      if (left <= 0) return void (truncated = true);
      const kept = chunk.length > left ? chunk.subarray(0, left) : chunk;
      if (kept.length < chunk.length) truncated = true;
      left -= kept.length;
      send({ id, event: stream, data: kept });
    });
  };
  forward('stdout');
  forward('stderr');
  // The helper may have failed before reading its stdin; its close is reported below.
  child.stdin?.on('error', () => undefined);
  child.on('spawn', () => send({ id, event: 'spawn', pid: child.pid }));
  child.on('error', (error) => send({ id, event: 'error', error: describe(error) }));
  child.on('close', (code, signal) => {
    children.delete(id);
    send({ id, event: 'close', code, signal: signal && osConstants.signals[signal], truncated });
  });
}

/** An Error as plain data: the IPC channel keeps only message and stack of an Error. */
function describe(/** @type {any} */ error) {
  return { message: String(error?.message ?? error), code: error?.code, errno: error?.errno, syscall: error?.syscall, path: error?.path };
}

/**
 * A spawner started again after a crash inherits lab-server's open pty masters and slaves (node
 * opens them without close-on-exec). Holding a master would keep that terminal from hanging up
 * when lab-server closes it; holding a slave would keep lab-server from seeing its process end.
 */
function closeInheritedTerminals() {
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd < 3) continue;
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target === '/dev/ptmx' || target.startsWith('/dev/pts/')) closeSync(fd);
    } catch {
      // The directory's own fd, gone by now.
    }
  }
}
