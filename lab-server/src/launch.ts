/**
 * How lab-server's process is started, in one place: `npm start` (scripts/start.ts) and the
 * tests' and benchmarks' lab child (lab-server/test/support/lab-child.ts, so `npm run load` too)
 * use these, and deploy/systemd/isolab-lab.service and deploy/kubernetes/isolab.yaml spell out the
 * same (scripts/install-service.test.ts and scripts/kubernetes.test.ts check that they do).
 *
 * They keep lab-server's memory flat under a class. Measured with `npm run load -- --lab-memory-log`
 * (README, "Memory at steady state"): without them, the RSS of a class's lab-server rose by a third
 * from minute 2 to minute 8, and nearly all of it was room the allocators took and kept, not data.
 */
import { existsSync } from 'node:fs';

/**
 * V8's young generation, per half-space, in MiB. V8 grows a busy thread's young generation up to
 * 16 MiB a half-space (32 MiB committed) and gives it back only when allocation slows down: under
 * a class the main thread's went from 8 to 29 MiB and the mirror worker's from 1 to 14 within
 * minutes, two thirds of the rise. At 4 MiB the same garbage goes in more, shorter scavenges.
 * The mirror's worker gets the same bound through its resourceLimits (screen-mirror.ts).
 */
export const SEMI_SPACE_MIB = 4;

/** Node's flags before the script. */
export const LAB_SERVER_NODE_FLAGS = [`--max-semi-space-size=${SEMI_SPACE_MIB}`] as const;

/** The command line after the node binary, from the checkout's root. */
export const LAB_SERVER_ARGS = [...LAB_SERVER_NODE_FLAGS, '--import', 'tsx', 'lab-server/src/main.ts'] as const;

/**
 * jemalloc, from Debian's libjemalloc2 (scripts/setup.sh installs it), where Debian's multiarch
 * layout puts it for this machine.
 */
export const JEMALLOC_PATH = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`;

/**
 * The environment lab-server starts with (the C library reads it when the process starts, so
 * lab-server cannot set it itself; an operator's own value wins).
 * - `LD_PRELOAD` of jemalloc: what glibc's allocator frees between the live blocks of a class's
 *   small reads and writes it keeps as free space in its main arena (malloc_info: 11.7 → 17.1 MiB
 *   free for 10 MiB in use from minute 2 to 9.5 of a class), and it grew for the whole lesson;
 *   jemalloc gives such pages back (its dirty pages decay in 10 s): lab-server's RSS was flat at
 *   162-167 MiB from minute 2.5 to 10 (README, "Memory at steady state"). lab-server's children
 *   never inherit it: runc, the spawner and the namespace helper get environments of their own,
 *   and a sandbox's processes get the container's (lab-server/test/operator.test.ts checks both).
 * - `MALLOC_ARENA_MAX=2`, for glibc where jemalloc is not installed: glibc gives threads that
 *   allocate at once arenas of their own (11 in a class's lab-server: the event loop, the mirror's
 *   worker, libuv's and V8's helper threads), and what is freed in one arena is reused only by
 *   it; with two, malloc's share stopped growing after minute 5 (it was still growing at minute 8
 *   with 11).
 * The deploy files set both (the packages are installed with them); `labServerEnv` is what a
 * start from the checkout sets on this machine.
 */
export const LAB_SERVER_ENV = { LD_PRELOAD: JEMALLOC_PATH, MALLOC_ARENA_MAX: '2' } as const;

/**
 * LAB_SERVER_ENV without the preload where the library is missing (a host set up by hand, the
 * cgroup v2 test VM), where the dynamic loader would print an error at every start.
 */
export function labServerEnv(): Record<string, string> {
  const { LD_PRELOAD, ...rest } = LAB_SERVER_ENV;
  return existsSync(LD_PRELOAD) ? { LD_PRELOAD, ...rest } : rest;
}
