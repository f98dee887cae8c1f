/**
 * What the host's cgroup filesystem looks like: v1 (one hierarchy per controller), v2 (one
 * unified hierarchy) or hybrid (v1 controllers plus an empty v2 hierarchy, as on this Debian kind).
 *
 * Read from /proc/self/mountinfo rather than guessed from paths, because distributions mount
 * hierarchies in different places and sometimes combine controllers (`cpu,cpuacct`).
 */
import { readFileSync } from 'node:fs';

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface V1Hierarchy {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup/cpu,cpuacct. */
  mountpoint: string;
  /** Controllers bound to it, e.g. ['cpu', 'cpuacct']; named hierarchies appear as 'name=systemd'. */
  controllers: string[];
}

export interface CgroupHost {
  mode: CgroupMode;
  /** The v1 hierarchies (empty on v2). */
  v1: V1Hierarchy[];
  /** The cgroup2 mountpoint: /sys/fs/cgroup on v2, often /sys/fs/cgroup/unified on hybrid. */
  unifiedMountpoint?: string;
}

/** Controllers whose v1 directory a learner gets to make children in. */
export const DELEGATED_V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'freezer', 'blkio'];

/**
 * Parses /proc/self/mountinfo text. Only mounts whose root is "/" count: a hierarchy mounted from
 * inside a cgroup (as in a container) is not one lab-server may place sandboxes in.
 */
export function parseCgroupMounts(mountinfo: string): CgroupHost {
  const v1: V1Hierarchy[] = [];
  let unifiedMountpoint: string | undefined;
  for (const line of mountinfo.split('\n')) {
    if (!line.trim()) continue;
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    const root = unescapeMountPath(fields[3]);
    const mountpoint = unescapeMountPath(fields[4]);
    if (root !== '/') continue;
    if (fstype === 'cgroup2') unifiedMountpoint ??= mountpoint;
    if (fstype === 'cgroup') {
      const controllers = superOptions
        .split(',')
        .filter((option) => option !== 'rw' && option !== 'ro' && !option.startsWith('release_agent') && option !== 'clone_children' && option !== 'noprefix' && option !== 'xattr');
      if (!v1.some((h) => h.mountpoint === mountpoint)) v1.push({ mountpoint, controllers });
    }
  }
  const mode: CgroupMode = v1.length === 0 ? 'v2' : unifiedMountpoint ? 'hybrid' : 'v1';
  return { mode, v1, unifiedMountpoint };
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function detectCgroupHost(mountinfoPath = '/proc/self/mountinfo'): CgroupHost {
  return parseCgroupMounts(readFileSync(mountinfoPath, 'utf8'));
}

/** The v1 hierarchy that holds a controller, if it is mounted. */
export function findV1Hierarchy(host: CgroupHost, controller: string): V1Hierarchy | undefined {
  return host.v1.find((h) => h.controllers.includes(controller));
}

/** What the host can limit; a missing one is a startup error, since the limits are the lab's promise. */
export function missingControllers(host: CgroupHost, availableV2: string[]): string[] {
  const needed = ['memory', 'pids', 'cpu'];
  if (host.mode === 'v2') return needed.filter((c) => !availableV2.includes(c));
  return needed.filter((c) => !findV1Hierarchy(host, c));
}
