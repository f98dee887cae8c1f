/**
 * How many times slower than a real host the tests run: ISOLAB_TEST_SLOWDOWN, 1 unless set. The
 * cgroup v2 stage (scripts/test-cgroup-v2.sh) runs the server tests in an emulated VM (QEMU
 * without KVM, 5 to 30 times slower than the host) and sets it there. Only bounds on waits are
 * scaled (for a prompt, an answer, a sandbox to start), never what a test asserts.
 */
export const SLOWDOWN = Math.max(1, Number(process.env.ISOLAB_TEST_SLOWDOWN) || 1);

/** A bound on a wait, `ms` on a real host. */
export const bound = (ms: number): number => Math.round(ms * SLOWDOWN);

/**
 * The longest a workload a test starts may run, in whole seconds (e.g. `stress-ng --timeout`):
 * a hog that must outgrow a limit needs longer to touch its memory on a slow host.
 */
export const boundSeconds = (seconds: number): number => Math.ceil(seconds * SLOWDOWN);
