/**
 * Observing a sandbox live: cgroup meters, the host's view, the namespace map.
 *
 * A client subscribes to the views it shows for one of its own sandboxes. The server then streams
 * them, about twice a second, until the client unsubscribes or disconnects: nothing is read from
 * /proc or the cgroup filesystem while nobody watches. Meters arrive on every tick; the host view
 * and the namespace map arrive when they change.
 */
import { z } from 'zod';
import { SandboxId } from './common';
import type { RequestCatalog } from './catalog';

/** What a panel can show. */
export const ObserveView = z.enum(['meters', 'hostView', 'nsMap']);
export type ObserveView = z.infer<typeof ObserveView>;

/** The 8 kinds of namespace Linux has, named as in /proc/PID/ns. */
export const NAMESPACE_KINDS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const;
export const NamespaceKind = z.enum(NAMESPACE_KINDS);
export type NamespaceKind = z.infer<typeof NamespaceKind>;

// ---------------------------------------------------------------------------------------------
// Meters
// ---------------------------------------------------------------------------------------------

/**
 * One reading of the sandbox's own cgroup, the same on cgroup v1 and v2. Counters count from the
 * sandbox's start. A `null` limit means "max" (none set).
 */
export const CgroupStats = z.object({
  version: z.enum(['v1', 'v2']),
  memory: z.object({
    currentBytes: z.number(),
    limitBytes: z.number().nullable(),
    /** Highest usage so far; null where the kernel does not track it (v2 before Linux 5.19). */
    peakBytes: z.number().nullable(),
    /** Processes the OOM killer ended anywhere in the sandbox, child cgroups included. */
    oomKills: z.number(),
    /** Times usage ran into the limit (v1 memory.failcnt, v2 memory.events max). */
    limitHits: z.number(),
  }),
  pids: z.object({
    current: z.number(),
    max: z.number().nullable(),
    /** fork() and clone() calls refused by a pids.max anywhere in the sandbox. */
    forksRefused: z.number(),
  }),
  cpu: z.object({
    usageUsec: z.number(),
    /** Periods in which the sandbox used up its quota and had to wait. */
    throttledPeriods: z.number(),
    throttledUsec: z.number(),
    /** CPU time allowed per period; null when there is no quota. */
    quotaUsec: z.number().nullable(),
    periodUsec: z.number(),
  }),
});
export type CgroupStats = z.infer<typeof CgroupStats>;

export const MeterSample = z.object({
  /** Server time of the reading, ms since the epoch. */
  at: z.number(),
  stats: CgroupStats,
  /** CPUs in use since the previous sample (1 = one whole core); null on the first sample. */
  cpuUsage: z.number().nullable(),
  /** Milliseconds per second spent throttled since the previous sample; null on the first sample. */
  throttledMsPerSecond: z.number().nullable(),
});
export type MeterSample = z.infer<typeof MeterSample>;

export const ObserveEventKind = z.enum(['oom-kill', 'fork-refused', 'throttling-started', 'throttling-ended']);
export type ObserveEventKind = z.infer<typeof ObserveEventKind>;

/** Something the kernel did to the sandbox, found by comparing two readings of its counters. */
export const ObserveEvent = z.object({
  at: z.number(),
  kind: ObserveEventKind,
  /** How many happened since the previous reading (e.g. 2 processes OOM-killed). */
  count: z.number(),
  /** A sentence for the timeline. */
  message: z.string(),
});
export type ObserveEvent = z.infer<typeof ObserveEvent>;

// ---------------------------------------------------------------------------------------------
// The host's view
// ---------------------------------------------------------------------------------------------

export const HostProcess = z.object({
  /** The pid the host (and lab-server) sees. */
  hostPid: z.number(),
  /** The pid inside the sandbox's pid namespace. */
  pidInside: z.number(),
  /** NSpid from /proc/PID/status: the pid in each pid namespace, host first, innermost last. */
  nsPids: z.array(z.number()),
  hostUid: z.number(),
  /** The uid in the process's own user namespace, found through its uid_map. */
  uidInside: z.number().nullable(),
  command: z.string(),
  /** The process's cgroup as the host names it, e.g. /isolab/sbx-1a2b3c4d/hog. */
  cgroupPath: z.string(),
});
export type HostProcess = z.infer<typeof HostProcess>;

export const UidMapping = z.object({ insideStart: z.number(), hostStart: z.number(), count: z.number() });
export type UidMapping = z.infer<typeof UidMapping>;

export const NamespaceComparison = z.object({
  kind: NamespaceKind,
  sandboxInode: z.number().nullable(),
  labServerInode: z.number().nullable(),
  /** "shared": the sandbox uses the host's namespace of this kind; "own": it has its own. */
  relation: z.enum(['shared', 'own']),
});
export type NamespaceComparison = z.infer<typeof NamespaceComparison>;

export const HostView = z.object({
  at: z.number(),
  /** The sandbox's init (its pid 1) on the host. */
  initHostPid: z.number(),
  /** The init's uid_map: how the sandbox's uids land on the host. */
  uidMap: z.array(UidMapping),
  processes: z.array(HostProcess),
  namespaces: z.array(NamespaceComparison),
});
export type HostView = z.infer<typeof HostView>;

// ---------------------------------------------------------------------------------------------
// The namespace map
// ---------------------------------------------------------------------------------------------

export const MapProcess = z.object({
  hostPid: z.number(),
  pidInside: z.number(),
  /** The parent's host pid, when the parent is in the sandbox too. */
  parentHostPid: z.number().nullable(),
  command: z.string(),
  /** The inode of each of its namespaces. */
  namespaces: z.partialRecord(NamespaceKind, z.number()),
});
export type MapProcess = z.infer<typeof MapProcess>;

export const MapNamespace = z.object({
  kind: NamespaceKind,
  inode: z.number(),
  /**
   * host: shared with the host (lab-server's own); sandbox: the one the sandbox started with;
   * nested: made inside the sandbox (unshare, ip netns add, ...).
   */
  origin: z.enum(['host', 'sandbox', 'nested']),
  /** Host pids of the processes in it. Empty for a namespace kept alive only by a bind mount. */
  processes: z.array(z.number()),
  /** Where it is bind-mounted inside the sandbox, e.g. /run/netns/blue after `ip netns add blue`. */
  mountedAt: z.array(z.string()),
});
export type MapNamespace = z.infer<typeof MapNamespace>;

export const NamespaceMap = z.object({
  at: z.number(),
  processes: z.array(MapProcess),
  namespaces: z.array(MapNamespace),
});
export type NamespaceMap = z.infer<typeof NamespaceMap>;

// ---------------------------------------------------------------------------------------------
// Catalogs
// ---------------------------------------------------------------------------------------------

/** How often the server reads the cgroup while someone watches. */
export const OBSERVE_INTERVAL_MS = 500;

export const observeRequests = {
  /**
   * Start (or change) streaming `views` of one of the session's sandboxes to this connection.
   * Subscribing again replaces the views. The first readings follow at once.
   */
  'observe:subscribe': {
    payload: z.strictObject({
      sandboxId: SandboxId,
      views: z.array(ObserveView).min(1).max(ObserveView.options.length),
    }),
    result: z.strictObject({ cgroupVersion: z.enum(['v1', 'v2']), intervalMs: z.number() }),
  },
  /** Stop streaming this sandbox to this connection. Quiet if nothing was streaming. */
  'observe:unsubscribe': { payload: z.strictObject({ sandboxId: SandboxId }), result: z.strictObject({}) },
} as const satisfies RequestCatalog;

export const observeMessages = {} as const;

export const observeServerEvents = {
  'observe:meters': z.object({ sandboxId: SandboxId, sample: MeterSample }),
  'observe:event': z.object({ sandboxId: SandboxId, event: ObserveEvent }),
  'observe:host-view': z.object({ sandboxId: SandboxId, hostView: HostView }),
  'observe:ns-map': z.object({ sandboxId: SandboxId, nsMap: NamespaceMap }),
} as const;
