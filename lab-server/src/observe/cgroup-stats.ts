/**
 * Picks the stats reader for the host's cgroup layout. On a hybrid host the controllers are on
 * the v1 side (the v2 hierarchy is empty), so hybrid reads like v1.
 */
import { join } from 'node:path';
import type { CgroupStats } from '../../../protocol';
import { findV1Hierarchy, type CgroupHost } from '../cgroups/host';
import { readV1Stats } from './cgroup-v1-stats';
import { readV2Stats } from './cgroup-v2-stats';

export type CgroupStatsReader = () => Promise<CgroupStats>;

/** `cgroupsPath` is the sandbox's path relative to each hierarchy's root, e.g. /isolab/sbx-1a2b3c4d. */
export function cgroupStatsReader(host: CgroupHost, cgroupsPath: string): CgroupStatsReader {
  if (host.mode === 'v2') {
    const dir = join(host.unifiedMountpoint!, cgroupsPath);
    return () => readV2Stats(dir);
  }
  const dirOf = (controller: string) => {
    const hierarchy = findV1Hierarchy(host, controller);
    if (!hierarchy) throw new Error(`the ${controller} controller is not mounted`);
    return join(hierarchy.mountpoint, cgroupsPath);
  };
  const dirs = { memory: dirOf('memory'), pids: dirOf('pids'), cpu: dirOf('cpu'), cpuacct: dirOf('cpuacct') };
  return () => readV1Stats(dirs);
}

/** The directory whose cgroup.procs (recursively) lists every process of the sandbox. */
export function processCgroupDir(host: CgroupHost, cgroupsPath: string): string {
  if (host.mode === 'v2') return join(host.unifiedMountpoint!, cgroupsPath);
  // Every task is in exactly one cgroup of each v1 hierarchy; the pids one is always mounted here.
  const hierarchy = findV1Hierarchy(host, 'pids');
  if (!hierarchy) throw new Error('the pids controller is not mounted');
  return join(hierarchy.mountpoint, cgroupsPath);
}
