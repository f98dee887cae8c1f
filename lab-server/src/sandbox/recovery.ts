/**
 * Startup cleanup: whatever a previous lab-server left behind (after a crash or kill -9) is
 * removed before anything new starts. Only the lab's own runc root, cgroup parent and bundles
 * directory are touched; other containers and cgroups on the host are never looked at.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupHost } from '../cgroups/host';
import { listSandboxCgroups, parentDirs, removeCgroupTree } from '../cgroups/sandbox-cgroup';
import type { Logger } from '../log';
import { mountAt } from '../runtime/readonly-view';
import { Runc } from '../runtime/runc';

export interface RecoveryReport {
  containers: number;
  cgroups: number;
  bundles: number;
  /** Cgroup directories that could not be removed (should stay empty). */
  stuck: string[];
  /** Host uids of root in the sandboxes whose cgroups could not be removed: their processes may live on. */
  stuckHostUids: number[];
}

export async function removeLeftovers(
  runc: Runc,
  cgroupHost: CgroupHost,
  cgroupParent: string,
  bundlesDir: string,
  logger: Logger,
): Promise<RecoveryReport> {
  const containers = await runc.list();
  await Promise.all(containers.map((id) => runc.destroy(id)));

  const cgroupIds = listSandboxCgroups(cgroupHost, cgroupParent);
  const stuck: string[] = [];
  const stuckIds = new Set<string>();
  for (const parent of parentDirs(cgroupHost, cgroupParent)) {
    for (const id of cgroupIds) {
      const left = await removeCgroupTree(join(parent, id));
      stuck.push(...left);
      if (left.length > 0) stuckIds.add(id);
    }
  }

  mkdirSync(bundlesDir, { recursive: true, mode: 0o700 });
  // A stuck sandbox's bundle says which host uids its processes run as.
  const stuckHostUids = [...stuckIds].map((id) => bundleHostUid(join(bundlesDir, id))).filter((uid) => uid !== undefined);
  const bundles = readdirSync(bundlesDir);
  for (const bundle of bundles) rmSync(join(bundlesDir, bundle), { recursive: true, force: true });

  const report = { containers: containers.length, cgroups: cgroupIds.length, bundles: bundles.length, stuck, stuckHostUids };
  if (containers.length + cgroupIds.length + bundles.length > 0) logger.info('removed leftovers of an earlier run', { ...report });
  if (stuck.length > 0) logger.warn('some leftover cgroups could not be removed', { code: 'CGROUP_LEFTOVER', stuck });
  return report;
}

/** The host uid root maps to in a bundle's config.json, if it can be read. */
function bundleHostUid(bundleDir: string): number | undefined {
  try {
    const spec = JSON.parse(readFileSync(join(bundleDir, 'config.json'), 'utf8')) as { linux?: { uidMappings?: { hostID: number }[] } };
    return spec.linux?.uidMappings?.[0]?.hostID;
  } catch {
    return undefined;
  }
}

/**
 * Removes everything one lab instance ever made: its containers, its read-only view mounts, its
 * cgroup parent (with every sandbox cgroup under it) and its state directory. For tests and
 * benchmarks, which each run a lab of their own, and for stale labs that a killed test run left.
 */
export async function removeLabFootprint(options: { stateDir: string; cgroupParent: string; runcPath: string; cgroupHost: CgroupHost }): Promise<void> {
  const runc = new Runc(options.runcPath, join(options.stateDir, 'runc'));
  for (const id of await runc.list().catch(() => [])) await runc.destroy(id);
  unmountViews(join(options.stateDir, 'readonly'));
  for (const parent of parentDirs(options.cgroupHost, options.cgroupParent)) await removeCgroupTree(parent);
  rmSync(options.stateDir, { recursive: true, force: true });
}

/**
 * Unmounts every read-only view under `viewsDir`. At startup it runs before this instance mounts
 * any: a lab-server killed with -9 leaves one view per host identity it used, and the new
 * instance may never reuse some of those identities, so nothing else would unmount them.
 */
export function unmountViews(viewsDir: string): void {
  for (const view of existsSync(viewsDir) ? readdirSync(viewsDir) : []) {
    const path = join(viewsDir, view);
    while (mountAt(path)) {
      try {
        execFileSync('umount', ['--lazy', path], { env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
      } catch {
        break;
      }
    }
  }
}
