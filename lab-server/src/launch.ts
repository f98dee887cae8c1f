/**
 * How lab-server's process is started, in one place: `npm start` (scripts/start.ts) and the
 * tests' and benchmarks' lab child (lab-server/test/support/lab-child.ts, so `npm run load` too)
 * use these, and deploy/systemd/isolab-lab.service and deploy/kubernetes/isolab.yaml spell out the
 * same (scripts/install-service.test.ts and scripts/kubernetes.test.ts check that they do).
 *
 * Both keep lab-server's memory flat under a class. Measured with `npm run load -- --lab-memory-log`
 * (README, "Memory at steady state"): without them, the RSS of a class's lab-server rose by a third
 * from minute 2 to minute 8, and nearly all of it was room the allocators took and kept, not data.
 */

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
 * The environment lab-server starts with (glibc reads it when the process starts, so lab-server
 * cannot set it itself; an operator's own value wins). `MALLOC_ARENA_MAX=2`: glibc gives threads
 * that allocate at once arenas of their own (11 in a class's lab-server: the event loop, the
 * mirror's worker, libuv's and V8's helper threads), and what is freed in one arena is reused
 * only by it; with two, malloc's share stopped growing after minute 5 (it was still growing at
 * minute 8 with 11).
 */
export const LAB_SERVER_ENV = { MALLOC_ARENA_MAX: '2' } as const;
