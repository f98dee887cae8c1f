/**
 * The cgroup of one sandbox, in every hierarchy it lives in.
 *
 * lab-server makes the directories before `runc run` and hands them to the sandbox's root (the
 * mapped host uid), so that learners can create child cgroups and set limits on them. Only the
 * directory and the files that move processes are handed over: the sandbox's own limit files
 * (memory.max, pids.max, ...) stay owned by host root, so a learner can never raise them, and
 * every child's limits are capped by them. This follows the kernel's cgroup-v2 delegation model,
 * and works the same way on v1.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DELEGATED_V1_CONTROLLERS, type CgroupHost } from './host';

/** Files a delegatee must own to make children and move processes between them. */
const V1_DELEGATED_FILES = ['cgroup.procs', 'tasks'];
const V2_DELEGATED_FILES = ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'];
/** Controllers a v2 sandbox offers its children. */
const V2_CONTROLLERS = ['cpu', 'memory', 'pids', 'io', 'cpuset'];

/**
 * How many cgroups a learner may make inside the sandbox's own, and how deep. Every memory cgroup
 * takes one of the host's 65,535 memory-cgroup ids and some unaccounted kernel memory, so without
 * a cap about three sandboxes could use them all up and no container on the host could start.
 * The lessons make a handful (demo, box, jail, init.scope and a child or two).
 */
export const CHILD_CGROUP_LIMITS = { descendants: 64, depth: 8 };

export interface SandboxCgroupDirs {
  /** The path runc is given (`linux.cgroupsPath`): relative to each hierarchy's root. */
  cgroupsPath: string;
  /** Every directory of this sandbox's cgroup, one per hierarchy. */
  dirs: string[];
  /** The subset handed to the sandbox's root. */
  delegated: string[];
}

/** The parent directories under which all sandboxes' cgroups live, one per hierarchy. */
export function parentDirs(host: CgroupHost, parent: string): string[] {
  if (host.mode === 'v2') return [join(host.unifiedMountpoint!, parent)];
  const dirs = host.v1.map((h) => join(h.mountpoint, parent));
  // runc also makes a directory in the empty v2 hierarchy of a hybrid host.
  if (host.unifiedMountpoint) dirs.push(join(host.unifiedMountpoint, parent));
  return dirs;
}

export function sandboxCgroupDirs(host: CgroupHost, parent: string, sandboxId: string): SandboxCgroupDirs {
  const cgroupsPath = `/${parent}/${sandboxId}`;
  if (host.mode === 'v2') {
    const dir = join(host.unifiedMountpoint!, parent, sandboxId);
    return { cgroupsPath, dirs: [dir], delegated: [dir] };
  }
  const dirs = parentDirs(host, parent).map((p) => join(p, sandboxId));
  const delegated = host.v1
    .filter((h) => h.controllers.some((c) => DELEGATED_V1_CONTROLLERS.includes(c)))
    .map((h) => join(h.mountpoint, parent, sandboxId));
  return { cgroupsPath, dirs, delegated };
}

/**
 * Makes the sandbox's cgroup directories and delegates them to `rootUid`. On v2, it first lets
 * the parent hand its controllers down, since a child can only use what its parent enables.
 */
export function prepareSandboxCgroup(host: CgroupHost, parent: string, cgroup: SandboxCgroupDirs, rootUid: number): void {
  if (host.mode === 'v2') enableV2Controllers(join(host.unifiedMountpoint!, parent), host.unifiedMountpoint!);
  for (const dir of cgroup.dirs) mkdirSync(dir, { recursive: true });
  for (const dir of cgroup.dirs) {
    // cgroup v2 (and a hybrid host's v2 directory) enforces these at mkdir, with EAGAIN beyond
    // them; the files stay host root's. v1 has no such files: lab/budget-watch.ts counts there.
    if (!existsSync(join(dir, 'cgroup.max.descendants'))) continue;
    writeFileSync(join(dir, 'cgroup.max.descendants'), String(CHILD_CGROUP_LIMITS.descendants));
    writeFileSync(join(dir, 'cgroup.max.depth'), String(CHILD_CGROUP_LIMITS.depth));
  }
  const files = host.mode === 'v2' ? V2_DELEGATED_FILES : V1_DELEGATED_FILES;
  for (const dir of cgroup.delegated) {
    chownSync(dir, rootUid, rootUid);
    for (const file of files) {
      const path = join(dir, file);
      if (existsSync(path)) chownSync(path, rootUid, rootUid);
    }
  }
}

/** Enables the lab's controllers in every cgroup from the v2 root down to `dir`'s parent, then makes `dir`. */
function enableV2Controllers(dir: string, mountpoint: string): void {
  const relative = dir.slice(mountpoint.length).split('/').filter(Boolean);
  let current = mountpoint;
  for (const part of relative) {
    const available = readFileSync(join(current, 'cgroup.controllers'), 'utf8').split(/\s+/);
    const wanted = V2_CONTROLLERS.filter((c) => available.includes(c));
    if (wanted.length > 0) writeFileSync(join(current, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    current = join(current, part);
    mkdirSync(current, { recursive: true });
  }
}

/** Every process in a cgroup directory and all its descendants. */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const visit = (path: string) => {
    try {
      for (const line of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.push(Number(line));
      for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) visit(join(path, entry.name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  visit(dir);
  return pids;
}

/**
 * Removes a cgroup directory and the children a learner made in it, deepest first. A cgroup with
 * live processes cannot be removed, so whatever is still inside is killed first, and removal is
 * retried while the killed processes exit. Returns the directories that could not be removed.
 */
export async function removeCgroupTree(dir: string, attempts = 40): Promise<string[]> {
  let failed: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (!existsSync(dir)) return [];
    killCgroupTree(dir);
    failed = removeDeepestFirst(dir);
    if (failed.length === 0) return [];
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return failed;
}

/** SIGKILLs every process in a cgroup directory and its descendants, and thaws any that are frozen. */
export function killCgroupTree(dir: string): void {
  killProcesses(dir);
  // A learner may have frozen a child cgroup (the v1 freezer, or v2's cgroup.freeze). On v1 a
  // frozen process does not act on SIGKILL, and runc's `kill --all` thaws only the sandbox's own
  // cgroup, so the process, its memory and its cgroups stayed behind. Thawing after the kill means
  // the frozen processes wake straight into their pending SIGKILL and run no code of their own.
  thawDeepestFirst(dir);
}

function killProcesses(dir: string): void {
  // cgroup.kill (v2, kernel 5.14+) kills the whole subtree at once, including processes forking right now.
  const killFile = join(dir, 'cgroup.kill');
  if (existsSync(killFile)) {
    try {
      writeFileSync(killFile, '1');
      return;
    } catch {
      // Fall back to killing one process at a time.
    }
  }
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: that is what we wanted.
    }
  }
}

function thawDeepestFirst(path: string): void {
  for (const child of childCgroups(path)) thawDeepestFirst(child);
  for (const [file, thawed] of [
    ['freezer.state', 'THAWED'],
    ['cgroup.freeze', '0'],
  ]) {
    const control = join(path, file);
    try {
      if (existsSync(control)) writeFileSync(control, thawed);
    } catch {
      // The cgroup went away meanwhile.
    }
  }
}

/** The child cgroups of a cgroup directory; none if it is gone. */
function childCgroups(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(path, e.name));
  } catch {
    return [];
  }
}

function removeDeepestFirst(path: string): string[] {
  const failed = childCgroups(path).flatMap(removeDeepestFirst);
  try {
    rmdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(path);
  }
  return failed;
}

/** The sandbox ids that have a cgroup directory under the lab's parent, in any hierarchy. */
export function listSandboxCgroups(host: CgroupHost, parent: string): string[] {
  const ids = new Set<string>();
  for (const dir of parentDirs(host, parent)) {
    try {
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) ids.add(entry.name);
    } catch {
      // No parent yet: nothing was ever made there.
    }
  }
  return [...ids];
}
