/**
 * The namespace map: the sandbox's processes grouped by namespace, for each of the 8 kinds.
 *
 * A namespace is known from the processes in it (/proc/PID/ns/KIND) and from bind mounts of it
 * (nsfs entries in mountinfo), so `ip netns add blue`, which makes a network namespace with no
 * process in it, still shows up, labelled with where it is mounted.
 */
import { NAMESPACE_KINDS, type MapNamespace, type NamespaceKind, type NamespaceMap } from '../../../protocol';
import type { SandboxScan } from './sandbox-scan';

export function buildNamespaceMap(scan: SandboxScan): NamespaceMap {
  const hostPids = new Set(scan.processes.map((p) => p.hostPid));
  const namespaces = new Map<string, MapNamespace>();
  const entry = (kind: NamespaceKind, inode: number): MapNamespace => {
    const key = `${kind}:${inode}`;
    let namespace = namespaces.get(key);
    if (!namespace) {
      const origin = inode === scan.labServerNamespaces[kind] ? 'host' : inode === scan.init.namespaces[kind] ? 'sandbox' : 'nested';
      namespace = { kind, inode, origin, processes: [], mountedAt: [] };
      namespaces.set(key, namespace);
    }
    return namespace;
  };

  for (const kind of NAMESPACE_KINDS) {
    // The sandbox's own namespaces first, so that every kind has its bubble in a stable place.
    const inode = scan.init.namespaces[kind];
    if (inode !== undefined) entry(kind, inode);
  }
  for (const process of scan.processes) {
    for (const kind of NAMESPACE_KINDS) {
      const inode = process.namespaces[kind];
      if (inode !== undefined) entry(kind, inode).processes.push(process.hostPid);
    }
  }
  for (const mount of scan.namespaceMounts) {
    const namespace = entry(mount.kind, mount.inode);
    if (!namespace.mountedAt.includes(mount.mountpoint)) namespace.mountedAt.push(mount.mountpoint);
  }

  return {
    at: scan.at,
    processes: scan.processes.map((process) => ({
      hostPid: process.hostPid,
      pidInside: process.nsPids[1],
      parentHostPid: hostPids.has(process.parentHostPid) ? process.parentHostPid : null,
      command: process.command,
      namespaces: process.namespaces,
    })),
    namespaces: [...namespaces.values()],
  };
}
