/**
 * Read-only views: bind mounts in lab-server's own (host) mount namespace that show a directory
 * read-only. runc is pointed at the views instead of the directories themselves.
 *
 * Why: runc makes a sandbox's mounts inside the sandbox's mount namespace, and the sandbox's user
 * namespace owns that namespace. The read-only flag of a mount made there belongs to the sandbox:
 * `mount -o remount,bind,rw /` worked as root inside, and the learner could then write the shared
 * rootfs that every other sandbox runs, or fill the host's disk through /etc/hosts, whose source
 * is a file in the bundle on the host. The adversarial suite found this.
 *
 * The kernel has a rule for exactly this case. When a mount namespace is copied for a less
 * privileged user namespace, each mount that is read-only at that moment is locked read-only
 * (MNT_LOCK_READONLY), and a bind mount made from a locked mount keeps the lock. runc copies the
 * host's mount table when it makes the sandbox's mount namespace, so a view that is read-only on
 * the host is locked in that copy, and so is every bind runc makes from it. Making it writable
 * again fails with EPERM through any interface (mount, mount_setattr, fsconfig), with or without
 * seccomp.
 *
 * The rootfs gets one view per host identity (see sandbox/identity.ts): an idmapped mount that
 * shows the files, shifted on disk to the base uid range, as owned by that sandbox's range. An
 * idmapped mount is made detached and read-only in one mount_setattr call, then attached here in
 * the host's mount namespace, so the same locking applies to it.
 *
 * A view belongs to one lab-server. It is made at startup (a rootfs view: when its identity is
 * first used), replaced if a killed lab-server left one behind, and removed at shutdown.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { MAPPED_ID_COUNT } from './oci-spec';
import { runChecked } from './spawner';

const SYSTEM_PATH = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

export interface ReadonlyView {
  /** The directory shown. */
  readonly source: string;
  /** Where it is shown read-only. */
  readonly path: string;
  /** Unmounts the view. Quiet if it is already gone. */
  release(): void;
}

/**
 * Shows `source` read-only at `path`, replacing any mount a previous run left there. Directories
 * made on the way are 0711: runc bind-mounts the rootfs from inside the sandbox's user namespace,
 * so the sandbox's root must be able to pass through them (but not list them).
 */
export function mountReadonlyView(source: string, path: string): ReadonlyView {
  clearMountpoint(path);
  mount(['--bind', source, path]);
  // Nothing mounted under the view should travel to or from the host's other mounts.
  mount(['--make-private', path]);
  mount(['-o', 'remount,bind,ro', path]);
  const mounted = mountAt(path);
  if (!mounted?.options.includes('ro')) {
    unmount(path);
    throw new Error(`Could not make a read-only view of ${source} at ${path}.`);
  }
  return view(source, path);
}

/**
 * Shows `source` read-only at `path` with its ids shifted: a file owned by `diskId + n` on disk
 * shows as owned by `shownId + n`, for MAPPED_ID_COUNT ids (isolab-ns idmapped-view).
 */
export async function mountIdmappedView(helper: string, source: string, path: string, diskId: number, shownId: number): Promise<ReadonlyView> {
  clearMountpoint(path);
  try {
    await runChecked(helper, ['idmapped-view', source, path, String(diskId), String(shownId), String(MAPPED_ID_COUNT)], { env: SYSTEM_PATH, timeoutMs: 10_000 });
  } catch (error) {
    throw new Error(`Could not make an idmapped read-only view of ${source} at ${path}: ${(error as Error).message}`);
  }
  const mounted = mountAt(path);
  if (!mounted?.options.includes('ro') || !mounted.options.includes('idmapped')) {
    unmount(path);
    throw new Error(`Could not make an idmapped read-only view of ${source} at ${path}.`);
  }
  return view(source, path);
}

/** Makes `path`, and removes what a lab-server killed with -9 left mounted there (it may show an older rootfs). */
function clearMountpoint(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o711 });
  while (mountAt(path)) unmount(path);
}

function view(source: string, path: string): ReadonlyView {
  return {
    source,
    path,
    release: () => {
      while (mountAt(path)) unmount(path);
    },
  };
}

export interface MountEntry {
  mountpoint: string;
  /** Per-mount options, e.g. ['ro', 'relatime']. */
  options: string[];
  /** The path inside its filesystem that is mounted (for bind mounts, the source directory). */
  root: string;
}

/** The topmost mount at exactly `path` in lab-server's mount namespace, if any. */
export function mountAt(path: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 6) continue;
    const mountpoint = unescape(fields[4]);
    // Later lines are mounted later, so the last match is the one on top.
    if (mountpoint === path) found = { mountpoint, options: fields[5].split(','), root: unescape(fields[3]) };
  }
  return found;
}

// mount and umount run on lab-server's own thread (not through runtime/spawner.ts): they are
// needed at startup and shutdown, and after a crash, when no learner is being served.
function mount(args: string[]): void {
  execFileSync('mount', args, { env: SYSTEM_PATH, stdio: ['ignore', 'ignore', 'pipe'] });
}

function unmount(path: string): void {
  try {
    execFileSync('umount', [path], { env: SYSTEM_PATH, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    // Still busy (a sandbox process holding a file open): detach it now, the kernel frees it later.
    execFileSync('umount', ['--lazy', path], { env: SYSTEM_PATH, stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
