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

/** Takes `file` for this process; a file whose process is gone is stale and taken over. */
function claimPidFile(file: string, options: { sameProcessMayReclaim: boolean }): { release(): void } | { holder: number } {
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
      let held: string;
      try {
        held = readFileSync(file, 'utf8');
      } catch {
        continue; // released between the two calls
      }
      const [pid, started] = held.split(' ');
      const alive = startTime(Number(pid)) === started;
      if (alive && (Number(pid) !== process.pid || !options.sameProcessMayReclaim)) return { holder: Number(pid) };
      // The holder is gone (or is this process, where that is allowed): the file is stale.
      rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not claim ${file}.`);
}

export function claimStateDir(stateDir: string): { release(): void } {
  mkdirSync(stateDir, { recursive: true });
  // This very process may claim again (a test restarting a server in-process).
  const claim = claimPidFile(join(stateDir, 'lab-server.pid'), { sameProcessMayReclaim: true });
  if ('holder' in claim) throw new StateDirBusyError(stateDir, claim.holder);
  return claim;
}

/**
 * Sandbox identities (sandbox/identity.ts) are host uid ranges, and the kernel's per-uid budgets
 * are host-wide: two lab-servers on one host (a cluster tried on one machine, a second lab for
 * another class, test suites in parallel) must never hand out the same ones, or one lab's
 * sandbox spends another's. Identity slots are claimed host-wide in blocks of this many, each
 * block a pid file in IDENTITY_CLAIMS_DIR; a lab takes the first run of free blocks it needs.
 */
export const IDENTITY_BLOCK = 256;
export const IDENTITY_CLAIMS_DIR = '/run/isolab-identities';

export class IdentitiesBusyError extends Error {
  readonly code = 'IDENTITIES_BUSY';
  constructor(needed: number, holders: number[]) {
    super(
      `Every free range of ${needed} sandbox identities on this host is taken by other lab-servers (pids ${[...new Set(holders)].join(', ')}). Stop one of them, or lower ISOLAB_MAX_SANDBOXES.`,
    );
  }
}

/** Claims `slots` consecutive identity slots, all between 1 and `available`; returns the first. */
export function claimIdentitySlots(slots: number, available: number, dir = IDENTITY_CLAIMS_DIR): { firstSlot: number; release(): void } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const blocks = Math.ceil(slots / IDENTITY_BLOCK);
  const lastBlock = Math.floor(available / IDENTITY_BLOCK) - 1;
  const holders: number[] = [];
  for (let start = 0; start + blocks - 1 <= lastBlock; ) {
    const taken: Array<{ release(): void }> = [];
    let busyAt = -1;
    for (let block = start; block < start + blocks; block++) {
      // A block's file is named by its first slot, so a reader can tell which host uids it means.
      const claim = claimPidFile(join(dir, `slots-${1 + block * IDENTITY_BLOCK}`), { sameProcessMayReclaim: false });
      if ('holder' in claim) {
        holders.push(claim.holder);
        busyAt = block;
        break;
      }
      taken.push(claim);
    }
    if (busyAt < 0) {
      return { firstSlot: 1 + start * IDENTITY_BLOCK, release: () => taken.forEach((claim) => claim.release()) };
    }
    for (const claim of taken) claim.release();
    start = busyAt + 1;
  }
  throw new IdentitiesBusyError(slots, holders);
}
