/**
 * How long starting one process holds lab-server's event loop, by lab-server's resident memory:
 * started on the loop (`child_process.spawn`, as lab-server did before runtime/spawner.ts) and
 * through the spawner's helper process (as it does now).
 *
 * libuv forks the caller and then waits for the child to exec, on the calling thread, so with a
 * spawn on the loop every learner's keystroke waits with it. The fork copies the caller's page
 * tables (it grows with RSS) and, on a busy host, the child must get a CPU before it can exec.
 * For each spawn this prints the time the call itself held the thread and the longest gap the
 * event loop had (a 1 ms timer) while that process started and ended.
 *
 *   npm run bench -- spawn-block
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { runProcess, startSpawner } from '../lab-server/src/runtime/spawner';
import { emitResult, printTable, summarize } from './support/stats';

const SPAWNS = 30;
const ENV = { PATH: '/usr/bin:/bin' };

const ways = {
  'on the loop': () => new Promise<void>((resolve) => spawn('/bin/true', { env: ENV }).on('close', () => resolve())),
  'spawner': () => runProcess('/bin/true', [], { env: ENV }).then(() => undefined),
};

// The loop's longest gap while each process runs: a 1 ms timer's late ticks.
let lastTick = performance.now();
let longestGap = 0;
const ticker = setInterval(() => {
  const now = performance.now();
  longestGap = Math.max(longestGap, now - lastTick);
  lastTick = now;
}, 1);

startSpawner();
const ballast: Buffer[] = [];
const rows: Array<{ rssMiB: number; way: string; held: ReturnType<typeof summarize>; loopGap: ReturnType<typeof summarize> }> = [];
for (const targetMiB of [0, 200, 400]) {
  // Touched pages, as a heap and a screen mirror's buffers are.
  while (process.memoryUsage().rss < targetMiB * 2 ** 20) ballast.push(Buffer.alloc(2 ** 20, 1));
  for (const [way, start] of Object.entries(ways)) {
    const held: number[] = [];
    const gaps: number[] = [];
    for (let i = 0; i < SPAWNS; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      lastTick = performance.now();
      longestGap = 0;
      const started = performance.now();
      const ended = start();
      held.push(performance.now() - started);
      await ended;
      // The tick that ends a gap may come just after the process's end.
      await new Promise((resolve) => setTimeout(resolve, 2));
      gaps.push(longestGap);
    }
    rows.push({ rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), way, held: summarize(held), loopGap: summarize(gaps) });
  }
}
clearInterval(ticker);
printTable(
  `Starting /bin/true, ${SPAWNS} times each: the call's hold on the thread and the event loop's longest gap meanwhile, ms (load average ${loadavg()[0].toFixed(1)})`,
  ['caller RSS MiB', 'started', 'call p50', 'call max', 'loop gap p50', 'p95', 'max'],
  rows.map((r) => [r.rssMiB, r.way, r.held.p50, r.held.max, r.loopGap.p50, r.loopGap.p95, r.loopGap.max]),
);
emitResult({ loadAverage: loadavg()[0], rows, ballastMiB: ballast.length });
