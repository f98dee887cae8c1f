/**
 * One pass over /proc for one sandbox: the raw material of the host view and the namespace map.
 *
 * Which processes: exactly those listed by the sandbox's cgroup subtree (cgroup.procs, read
 * recursively). The kernel keeps every process a sandbox starts inside that subtree, and a
 * learner can only move processes between cgroups under it, so the list can name neither a host
 * process nor another sandbox's. Two more guards make sure of it: a process must run as a host
 * uid of the lab's mapped range, and must sit in a pid namespace below the host's. The second
 * also drops `runc exec`'s helper, which is in the cgroup for a moment before it enters the
 * sandbox's namespaces.
 */
import { join } from 'node:path';
import { readNamespaces, readProcess, readProcFile, parseNamespaceMounts, type Namespaces, type NamespaceMount, type ProcRecord } from './proc';

export interface SandboxScanInput {
  /** '/proc' on a live host; a fixture tree in unit tests. */
  procRoot: string;
  /** Host pids listed by the sandbox's cgroup subtree. */
  pids: number[];
  /** The host pid of the sandbox's init (its pid 1). */
  initPid: number;
  /** lab-server's own pid ('self' on a live host), for the shared/own comparison. */
  labServerPid: number | 'self';
  /** The host uids sandboxes are mapped to. */
  sandboxUids: { start: number; count: number };
  /**
   * Which line of /proc/PID/cgroup names the process's cgroup: the v1 hierarchy holding this
   * controller, or the v2 line ("0::") when undefined.
   */
  cgroupController?: string;
}

export interface ScannedProcess extends ProcRecord {
  /** The line of /proc/PID/cgroup chosen by `cgroupController`. */
  cgroupPath: string;
}

export interface SandboxScan {
  at: number;
  init: ScannedProcess;
  /** Sorted by pid inside the sandbox. */
  processes: ScannedProcess[];
  labServerNamespaces: Namespaces;
  /** Namespaces bind-mounted in any mount namespace of the sandbox, deduplicated. */
  namespaceMounts: NamespaceMount[];
}

/** pids.max caps a sandbox far below this; it only bounds the work of one scan. */
const MAX_PROCESSES = 1024;
/**
 * What one scan may read of mountinfo, which a learner controls: every process may sit in a
 * mount namespace of its own, with thousands of mounts at 4 kB paths, and the kernel makes the
 * text on each read. A lesson's sandbox has a few namespaces of a few kB each; beyond these
 * bounds, namespace mounts are missing from the map rather than lab-server being slow.
 */
const MAX_MOUNT_NAMESPACES = 32;
const MAX_MOUNTINFO_BYTES = 128 * 1024;
const MAX_MOUNTINFO_TOTAL_BYTES = 1024 * 1024;
const MAX_NAMESPACE_MOUNTS = 256;

export async function scanSandbox(input: SandboxScanInput): Promise<SandboxScan | undefined> {
  const pids = [...new Set(input.pids)].slice(0, MAX_PROCESSES);
  if (!pids.includes(input.initPid)) return undefined;
  const records = await Promise.all(pids.map((pid) => readProcess(input.procRoot, pid)));
  const processes = records
    .filter((record): record is ProcRecord => record !== undefined && belongsToSandbox(record, input))
    .map((record) => ({ ...record, cgroupPath: pickCgroupPath(record, input.cgroupController) }))
    .sort((a, b) => (a.nsPids[1] ?? 0) - (b.nsPids[1] ?? 0));
  const init = processes.find((p) => p.hostPid === input.initPid);
  if (!init) return undefined;

  const [labServerNamespaces, namespaceMounts] = await Promise.all([readNamespaces(input.procRoot, input.labServerPid), readNamespaceMounts(input.procRoot, processes)]);
  return { at: Date.now(), init, processes, labServerNamespaces, namespaceMounts };
}

function belongsToSandbox(record: ProcRecord, input: SandboxScanInput): boolean {
  const { start, count } = input.sandboxUids;
  return record.nsPids.length >= 2 && record.hostUid >= start && record.hostUid < start + count;
}

function pickCgroupPath(record: ProcRecord, controller: string | undefined): string {
  const line = controller ? record.cgroups.find((c) => c.controllers.includes(controller)) : record.cgroups.find((c) => c.controllers.length === 0);
  return line?.path ?? '?';
}

/**
 * Namespaces with no process in them stay alive while something refers to them; `ip netns add`
 * bind-mounts one on /run/netns/NAME. Such mounts are nsfs entries in the mountinfo of the mount
 * namespaces the sandbox's processes live in, so one mountinfo per mount namespace finds them.
 * (A namespace held only by an open file descriptor is not found; the lessons never do that.)
 */
async function readNamespaceMounts(procRoot: string, processes: ProcRecord[]): Promise<NamespaceMount[]> {
  const oneProcessPerMountNamespace = new Map<number, number>();
  for (const process of processes) {
    const mnt = process.namespaces.mnt;
    if (mnt !== undefined && !oneProcessPerMountNamespace.has(mnt)) oneProcessPerMountNamespace.set(mnt, process.hostPid);
  }
  const seen = new Set<string>();
  const mounts: NamespaceMount[] = [];
  let budget = MAX_MOUNTINFO_TOTAL_BYTES;
  // One at a time, not all at once: the reads run on libuv's few threads, which every file
  // operation of lab-server shares.
  for (const pid of [...oneProcessPerMountNamespace.values()].slice(0, MAX_MOUNT_NAMESPACES)) {
    if (budget <= 0 || mounts.length >= MAX_NAMESPACE_MOUNTS) break;
    const text = await readProcFile(join(procRoot, String(pid), 'mountinfo'), Math.min(MAX_MOUNTINFO_BYTES, budget));
    if (!text) continue;
    budget -= text.length;
    for (const mount of parseNamespaceMounts(text)) {
      // Mount propagation copies a bind mount into peer mount namespaces; it is still one mount.
      const key = `${mount.kind}:${mount.inode}:${mount.mountpoint}`;
      if (seen.has(key)) continue;
      seen.add(key);
      mounts.push(mount);
    }
  }
  return mounts.slice(0, MAX_NAMESPACE_MOUNTS);
}
