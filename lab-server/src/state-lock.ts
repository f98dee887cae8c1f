/**
 * One lab-server per state directory. A second one would take the first one's containers for
 * leftovers and remove them at startup, and replace its read-only views: running `npm start`
 * twice must not end a class. The claim is a pid file naming the process and its start time, so
 * a file left by a crashed lab-server (or a pid the kernel reused) does not block a restart.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StateDirBusyError extends Error {
  readonly code = 'STATE_DIR_BUSY';
  constructor(stateDir: string, pid: number) {
    super(
      `Another lab-server (pid ${pid}) is already using ISOLAB_STATE_DIR=${stateDir}. Stop it first, or give this one its own ISOLAB_STATE_DIR and ISOLAB_CGROUP_PARENT.`,
    );
  }
}

/** The kernel's start time of a process (clock ticks since boot), which tells a pid's reuse apart. */
function startTime(pid: number | 'self'): string | undefined {
  try {
    // Field 22 of /proc/PID/stat; the command in field 2 may hold spaces, so count after its ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function claimStateDir(stateDir: string): { release(): void } {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'lab-server.pid');
  const mine = `${process.pid} ${startTime('self')}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx' });
      return {
        release: () => {
          if (readFileSync(file, 'utf8') === mine) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, started] = readFileSync(file, 'utf8').split(' ');
      // This very process may claim again (a test restarting a server in-process).
      if (Number(pid) !== process.pid && startTime(Number(pid)) === started) throw new StateDirBusyError(stateDir, Number(pid));
      // The holder is gone, or is this process: the file is stale.
      rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not claim ${file}.`);
}
