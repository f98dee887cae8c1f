/**
 * The one fixed wait in the test and benchmark support: for pacing (keystrokes in a benchmark,
 * a load test's think time) and for giving a process or the kernel time to act before looking.
 * A test that waits for something to appear polls for it instead.
 */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
