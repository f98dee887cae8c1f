/**
 * Reading what the host's /proc says about a process. Every function takes the proc root, so
 * that unit tests can point it at a fixture tree, and treats a process that exits mid-read as
 * gone (undefined) rather than as an error: sandbox processes come and go all the time.
 */
import { open, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NAMESPACE_KINDS, type NamespaceKind, type UidMapping } from '../../../protocol';

export type Namespaces = Partial<Record<NamespaceKind, number>>;

/** One process as the host sees it. */
export interface ProcRecord {
  hostPid: number;
  /** The parent's pid on the host (0 for a process whose parent is outside its pid namespace). */
  parentHostPid: number;
  /** NSpid: host pid first, then the pid in each nested pid namespace. */
  nsPids: number[];
  /** Real uid on the host. */
  hostUid: number;
  uidMap: UidMapping[];
  command: string;
  /** Lines of /proc/PID/cgroup: "hierarchy-id:controllers:path". */
  cgroups: Array<{ controllers: string[]; path: string }>;
  namespaces: Namespaces;
}

/** /proc files are small, but a learner controls some of them (mountinfo, cmdline): read with a bound. */
const MAX_PROC_FILE_BYTES = 1024 * 1024;

export async function readProcFile(path: string, maxBytes = MAX_PROC_FILE_BYTES): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(Math.min(maxBytes, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, maxBytes - total), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      total += bytesRead;
      if (total >= maxBytes) break;
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  } finally {
    await handle?.close();
  }
}

/** "net:[4026531840]" → 4026531840. */
export function parseNamespaceLink(link: string): number | undefined {
  const match = /^[a-z_]+:\[(\d+)\]$/.exec(link);
  return match ? Number(match[1]) : undefined;
}

/** The inode of each namespace of a process (`pid` may be "self"). */
export async function readNamespaces(procRoot: string, pid: number | 'self'): Promise<Namespaces> {
  const entries = await Promise.all(
    NAMESPACE_KINDS.map(async (kind) => {
      try {
        return [kind, parseNamespaceLink(await readlink(join(procRoot, String(pid), 'ns', kind)))] as const;
      } catch (error) {
        if (isGone(error)) return [kind, undefined] as const;
        throw error;
      }
    }),
  );
  const namespaces: Namespaces = {};
  for (const [kind, inode] of entries) if (inode !== undefined) namespaces[kind] = inode;
  return namespaces;
}

export function parseStatus(text: string): { parentHostPid: number; nsPids: number[]; hostUid: number } | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1];
  const nsPid = field('NSpid');
  const uid = field('Uid');
  const ppid = field('PPid');
  if (!nsPid || !uid || ppid === undefined) return undefined;
  return { parentHostPid: Number(ppid), nsPids: nsPid.trim().split(/\s+/).map(Number), hostUid: Number(uid.trim().split(/\s+/)[0]) };
}

/** uid_map lines: "inside-start host-start count", as seen from the reader's user namespace. */
export function parseUidMap(text: string): UidMapping[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((parts) => parts.length === 3 && parts.every(Number.isFinite))
    .map(([insideStart, hostStart, count]) => ({ insideStart, hostStart, count }));
}

/** The uid a host uid has inside a user namespace with this map, or null if it is unmapped there. */
export function uidInside(hostUid: number, uidMap: UidMapping[]): number | null {
  const range = uidMap.find((m) => hostUid >= m.hostStart && hostUid < m.hostStart + m.count);
  return range ? range.insideStart + (hostUid - range.hostStart) : null;
}

export function parseCgroupFile(text: string): ProcRecord['cgroups'] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, controllers = '', ...path] = line.split(':');
      return { controllers: controllers ? controllers.split(',') : [], path: path.join(':') };
    });
}

/** argv joined with spaces, like ps shows it; kernel threads and zombies have none, so [comm]. */
export function parseCommand(cmdline: string | undefined, comm: string | undefined): string {
  const args = (cmdline ?? '').split('\0').filter(Boolean).join(' ');
  const command = args || `[${(comm ?? '?').trim()}]`;
  return command.length > 200 ? `${command.slice(0, 199)}…` : command;
}

export async function readProcess(procRoot: string, hostPid: number): Promise<ProcRecord | undefined> {
  const dir = join(procRoot, String(hostPid));
  const [statusText, uidMapText, cmdline, comm, cgroupText, namespaces] = await Promise.all([
    readProcFile(join(dir, 'status')),
    readProcFile(join(dir, 'uid_map')),
    readProcFile(join(dir, 'cmdline'), 4096),
    readProcFile(join(dir, 'comm')),
    readProcFile(join(dir, 'cgroup')),
    readNamespaces(procRoot, hostPid),
  ]);
  const status = statusText === undefined ? undefined : parseStatus(statusText);
  if (!status || uidMapText === undefined || cgroupText === undefined) return undefined;
  return {
    hostPid,
    ...status,
    uidMap: parseUidMap(uidMapText),
    command: parseCommand(cmdline, comm),
    cgroups: parseCgroupFile(cgroupText),
    namespaces,
  };
}

/** A namespace bind-mounted to a file (`ip netns add` does this), from a mountinfo text. */
export interface NamespaceMount {
  kind: NamespaceKind;
  inode: number;
  mountpoint: string;
}

export function parseNamespaceMounts(mountinfo: string): NamespaceMount[] {
  const mounts: NamespaceMount[] = [];
  // Only nsfs lines matter; skip the rest without splitting them (a learner makes them long).
  if (!mountinfo.includes(' - nsfs ')) return mounts;
  for (const line of mountinfo.split('\n')) {
    if (!line.includes(' - nsfs ')) continue;
    const [left, right] = line.split(' - ');
    if (!right || !right.startsWith('nsfs ')) continue;
    // Fields: id parent major:minor root mountpoint ...; for nsfs the root is "net:[4026532403]".
    const fields = left.split(' ');
    const match = /^([a-z]+):\[(\d+)\]$/.exec(fields[3] ?? '');
    if (!match || !(NAMESPACE_KINDS as readonly string[]).includes(match[1])) continue;
    mounts.push({ kind: match[1] as NamespaceKind, inode: Number(match[2]), mountpoint: unescapeMountPath(fields[4]) });
  }
  return mounts;
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'EINVAL';
}
