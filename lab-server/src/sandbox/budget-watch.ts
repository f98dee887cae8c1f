/**
 * Watches two host-wide kernel budgets that no cgroup or namespace caps per sandbox, and closes a
 * sandbox that takes more than its share of one.
 *
 * - Pseudo-terminals. devpts `max=` caps the sandbox's /dev/pts (see ptysPerSandbox), but root in
 *   the sandbox may remount it with a larger max, or mount a devpts of its own: both were tried,
 *   and both draw from the one host-wide pool (kernel.pty.max) without a cap. A sandbox that held
 *   3,070 ptys made every new terminal in the lab fail.
 * - Child cgroups on cgroup v1, which has no cgroup.max.descendants (v2 gets it at prepare time).
 *   Each memory cgroup takes one of the host's 65,535 memory-cgroup ids.
 *
 * Why a watch and not a wall: nothing in the kernel can refuse these per sandbox (seccomp cannot
 * read mount's filesystem type, a string), so the cap is enforced within one interval instead.
 * A quiet lab costs two small reads per interval (/proc/sys/kernel/pty/nr and /proc/cgroups); the
 * per-sandbox counts run only when a host-wide counter has grown past what honest use explains,
 * read with async calls one at a time, and stop at a fixed number of files per sweep, so a learner
 * cannot make lab-server's event loop or its thread pool pay for the walk.
 */
import { readdir, readlink, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupHost } from '../cgroups/host';
import { CHILD_CGROUP_LIMITS, cgroupPids } from '../cgroups/sandbox-cgroup';
import type { Logger } from '../log';
import type { Lab } from './lab';
import type { Sandbox } from './sandbox';

const INTERVAL_MS = 2_000;
/** At most this many /proc entries or cgroup directories are looked at in one sweep. */
const MAX_ENTRIES_PER_SWEEP = 50_000;
/** Unix98 pty slaves use majors 136-143; every master is the ptmx device, 5:2. */
const isPtyDevice = (rdev: number) => {
  const major = Math.floor(rdev / 256) & 0xfff;
  return (major >= 136 && major <= 143) || rdev === 5 * 256 + 2;
};

export interface BudgetWatchOptions {
  cgroupHost: CgroupHost;
  /** ptys one sandbox may hold; an open master and its slave count as two files. */
  ptysPerSandbox: number;
  logger: Logger;
}

export class BudgetWatch {
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;
  /** /proc/cgroups' total when the cgroups were last counted. */
  private cgroupsAtLastCount = 0;
  private budget = MAX_ENTRIES_PER_SWEEP;

  constructor(
    private readonly lab: Lab,
    private readonly options: BudgetWatchOptions,
  ) {
    this.cgroupsAtLastCount = hostCgroupCount();
    this.timer = setInterval(() => void this.sweep(), INTERVAL_MS);
    this.timer.unref();
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  /** One check of both budgets; exported for tests through the interval only. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    this.budget = MAX_ENTRIES_PER_SWEEP;
    try {
      const running = this.lab.all().filter((s) => s.state === 'running');
      if (this.ptysUnexplained(running.length)) {
        for (const sandbox of running) {
          const held = await this.ptyFiles(sandbox, 2 * this.options.ptysPerSandbox);
          if (held > 2 * this.options.ptysPerSandbox) {
            this.closeOver(sandbox, 'PTY_BUDGET', `held more than ${held} pseudo-terminal files`, `It held more than ${this.options.ptysPerSandbox} terminals (pseudo-terminals), which all sandboxes share.`);
          }
        }
      }
      if (this.options.cgroupHost.mode !== 'v2') {
        const total = hostCgroupCount();
        if (total - this.cgroupsAtLastCount >= CHILD_CGROUP_LIMITS.descendants) {
          for (const sandbox of running) {
            const made = await this.childCgroups(sandbox, CHILD_CGROUP_LIMITS.descendants);
            if (made > CHILD_CGROUP_LIMITS.descendants) {
              this.closeOver(sandbox, 'CGROUP_BUDGET', `made more than ${CHILD_CGROUP_LIMITS.descendants} child cgroups`, `It made more than ${CHILD_CGROUP_LIMITS.descendants} cgroups; each one takes an id the whole host shares.`);
            }
          }
          this.cgroupsAtLastCount = hostCgroupCount();
        } else if (total < this.cgroupsAtLastCount) {
          this.cgroupsAtLastCount = total;
        }
      }
      if (this.budget <= 0) this.options.logger.warn('the kernel budget watch stopped early: too many files to look at in one sweep', { code: 'BUDGET_WATCH_TRUNCATED' });
    } catch (error) {
      this.options.logger.warn('the kernel budget watch failed', { err: error });
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * True when the host has more ptys in use than the lab's own terminals explain: each terminal
   * is one pty inside its sandbox and one on the host (node-pty's), and each sandbox may hold its
   * share besides. Anything else on the host (ssh sessions, other labs) is covered by the slack.
   */
  private ptysUnexplained(sandboxes: number): boolean {
    const inUse = readNumber('/proc/sys/kernel/pty/nr');
    if (inUse === undefined) return false;
    return inUse > sandboxes * this.options.ptysPerSandbox + 256;
  }

  private closeOver(sandbox: Sandbox, code: string, logged: string, told: string): void {
    this.options.logger.warn(`a sandbox ${logged}, a budget the whole host shares; closing it`, { sandboxId: sandbox.id, sessionId: sandbox.ownerSessionId, code });
    void this.lab.close(sandbox, 'budget', `${told} So the sandbox was closed. Start a new one to carry on.`);
  }

  /** Open files of the sandbox's processes that are ptys, counted up to `limit` + 1. */
  private async ptyFiles(sandbox: Sandbox, limit: number): Promise<number> {
    let count = 0;
    for (const pid of cgroupPids(sandbox.cgroup.dirs[0])) {
      const fdDir = `/proc/${pid}/fd`;
      let fds: string[];
      try {
        fds = await readdir(fdDir);
      } catch {
        continue; // exited
      }
      for (const fd of fds) {
        if (--this.budget < 0 || count > limit) return count;
        try {
          // Only devpts names need a stat: "/dev/pts/3", ".../ptmx", or a learner's own mount of either.
          if (!/(\/ptmx|\/\d+)$/.test(await readlink(join(fdDir, fd)))) continue;
          if (isPtyDevice((await stat(join(fdDir, fd))).rdev)) count++;
        } catch {
          // Closed meanwhile.
        }
      }
    }
    return count;
  }

  /** Child cgroups under the sandbox's own in any v1 hierarchy it was delegated, counted up to `limit` + 1. */
  private async childCgroups(sandbox: Sandbox, limit: number): Promise<number> {
    let most = 0;
    for (const root of sandbox.cgroup.delegated) {
      let count = 0;
      const pending = [root];
      while (pending.length > 0 && count <= limit && this.budget > 0) {
        const dir = pending.pop()!;
        try {
          for (const entry of await readdir(dir, { withFileTypes: true })) {
            this.budget--;
            if (!entry.isDirectory()) continue;
            count++;
            pending.push(join(dir, entry.name));
          }
        } catch {
          // Removed meanwhile.
        }
      }
      most = Math.max(most, count);
    }
    return most;
  }
}

/** The number of cgroups in every v1 hierarchy together, from /proc/cgroups (one small read). */
function hostCgroupCount(): number {
  try {
    return readFileSync('/proc/cgroups', 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .reduce((sum, line) => sum + Number(line.split('\t')[2] ?? 0), 0);
  } catch {
    return 0;
  }
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}
