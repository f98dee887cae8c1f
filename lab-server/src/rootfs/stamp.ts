/**
 * The rootfs stamp: a small JSON file that says which recipe built the rootfs. lab-server refuses
 * to start on a rootfs whose stamp does not match, and the build is skipped when it does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bump when the recipe below changes in a way that needs a rebuild. */
export const ROOTFS_RECIPE_VERSION = 1;
export const ROOTFS_SUITE = 'bookworm';
export const ROOTFS_MIRROR = 'http://deb.debian.org/debian';

/** The teaching tools on top of Debian's minbase (which already has util-linux and coreutils). */
export const ROOTFS_PACKAGES = [
  'procps', // ps, top, free, pgrep
  'iproute2', // ip, ss, for the network lessons
  'iputils-ping',
  'psmisc', // pstree, killall, fuser
  'strace', // the syscalls behind unshare, clone and setns
  'stress-ng', // memory and CPU hogs for the cgroup lessons
  'less',
  'nano',
  'libcap2-bin', // capsh, getpcaps, for the user namespace lesson
  'busybox-static', // a tiny static rootfs for "build a container by hand"
  'netcat-openbsd', // talk across veth pairs
  'jq', // read the sandbox's own config.json
  'ncurses-bin', // clear, tput
];

export interface RootfsStamp {
  recipe: number;
  suite: string;
  packages: string[];
  uidBase: number;
  builtAt: string;
}

export const rootfsPath = (dataDir: string) => join(dataDir, 'rootfs');
export const stampPath = (dataDir: string) => join(dataDir, 'rootfs.json');

export function readStamp(dataDir: string): RootfsStamp | undefined {
  try {
    return JSON.parse(readFileSync(stampPath(dataDir), 'utf8')) as RootfsStamp;
  } catch {
    return undefined;
  }
}

/** Why the rootfs in `dataDir` cannot be used with this recipe and uid base, or undefined if it can. */
export function stampProblem(dataDir: string, uidBase: number): string | undefined {
  const stamp = readStamp(dataDir);
  if (!stamp) return `the sandbox rootfs is not built in ${rootfsPath(dataDir)}`;
  if (stamp.recipe !== ROOTFS_RECIPE_VERSION || stamp.suite !== ROOTFS_SUITE || stamp.packages.join(',') !== ROOTFS_PACKAGES.join(',')) {
    return `the sandbox rootfs in ${rootfsPath(dataDir)} was built from an older recipe (${stamp.recipe}, now ${ROOTFS_RECIPE_VERSION})`;
  }
  if (stamp.uidBase !== uidBase) return `the sandbox rootfs is shifted to uid ${stamp.uidBase}, but ISOLAB_UID_BASE is ${uidBase}`;
  return undefined;
}
