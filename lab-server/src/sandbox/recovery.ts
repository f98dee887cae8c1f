/**
 * Startup cleanup: whatever a previous lab-server left behind (after a crash or kill -9) is
 * removed before anything new starts. Only the lab's own runc root, cgroup parent and bundles
 * directory are touched; other containers and cgroups on the host are never looked at.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupHost } from '../cgroups/host';
import { listSandboxCgroups, parentDirs, removeCgroupTree } from '../cgroups/sandbox-cgroup';
import type { Logger } from '../log';
import { mountAt } from '../runtime/readonly-view';
import { RuncRuntime } from '../runtime/runc';
import type { ContainerRuntime } from '../runtime/runtime';

export interface RecoveryReport {
  containers: number;
  cgroups: number;
  bundles: number;
  /** Cgroup directories that could not be removed (should stay empty). */
  stuck: string[];
}

export async function removeLeftovers(
  runtime: ContainerRuntime,
  cgroupHost: CgroupHost,
  cgroupParent: string,
  bundlesDir: string,
  logger: Logger,
): Promise<RecoveryReport> {
  const containers = await runtime.list();
  await Promise.all(containers.map((id) => runtime.destroy(id)));

  const cgroupIds = listSandboxCgroups(cgroupHost, cgroupParent);
  const stuck: string[] = [];
  for (const parent of parentDirs(cgroupHost, cgroupParent)) {
    for (const id of cgroupIds) stuck.push(...(await removeCgroupTree(join(parent, id))));
  }

  mkdirSync(bundlesDir, { recursive: true, mode: 0o700 });
  const bundles = readdirSync(bundlesDir);
  for (const bundle of bundles) rmSync(join(bundlesDir, bundle), { recursive: true, force: true });

  const report = { containers: containers.length, cgroups: cgroupIds.length, bundles: bundles.length, stuck };
  if (containers.length + cgroupIds.length + bundles.length > 0) logger.info('removed leftovers of an earlier run', { ...report });
  if (stuck.length > 0) logger.warn('some leftover cgroups could not be removed', { code: 'CGROUP_LEFTOVER', stuck });
  return report;
}

/**
 * Removes everything one lab instance ever made: its containers, its read-only view mounts, its
 * cgroup parent (with every sandbox cgroup under it) and its state directory. For tests and
 * benchmarks, which each run a lab of their own, and for stale labs that a killed test run left.
 */
export async function removeLabFootprint(options: { stateDir: string; cgroupParent: string; runcPath: string; cgroupHost: CgroupHost }): Promise<void> {
  const runtime = new RuncRuntime(options.runcPath, join(options.stateDir, 'runc'));
  for (const id of await runtime.list().catch(() => [])) await runtime.destroy(id);
  const views = join(options.stateDir, 'readonly');
  for (const view of existsSync(views) ? readdirSync(views) : []) {
    const path = join(views, view);
    while (mountAt(path)) {
      try {
        execFileSync('umount', ['--lazy', path], { env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
      } catch {
        break;
      }
    }
  }
  for (const parent of parentDirs(options.cgroupHost, options.cgroupParent)) await removeCgroupTree(parent);
  rmSync(options.stateDir, { recursive: true, force: true });
}
