/**
 * The host's view of a sandbox: each process with its pid and uid inside and on the host, its
 * command and cgroup, and the sandbox's namespaces set against lab-server's own. This is what
 * "a container is just a process" looks like from the other side.
 */
import { NAMESPACE_KINDS, type HostView, type NamespaceComparison } from '../../../protocol';
import { uidInside } from './proc';
import type { SandboxScan } from './sandbox-scan';

export function buildHostView(scan: SandboxScan): HostView {
  return {
    at: scan.at,
    initHostPid: scan.init.hostPid,
    uidMap: scan.init.uidMap,
    processes: scan.processes.map((process) => ({
      hostPid: process.hostPid,
      pidInside: process.nsPids[1],
      nsPids: process.nsPids,
      hostUid: process.hostUid,
      uidInside: uidInside(process.hostUid, process.uidMap),
      command: process.command,
      cgroupPath: process.cgroupPath,
    })),
    namespaces: NAMESPACE_KINDS.map((kind): NamespaceComparison => {
      const sandboxInode = scan.init.namespaces[kind] ?? null;
      const labServerInode = scan.labServerNamespaces[kind] ?? null;
      return { kind, sandboxInode, labServerInode, relation: sandboxInode !== null && sandboxInode === labServerInode ? 'shared' : 'own' };
    }),
  };
}
