/**
 * How long one `child_process.spawn` holds the calling thread, by the caller's resident memory.
 *
 * lab-server spawns several processes per sandbox start and end (runc, its namespace helper, the
 * read-only view's mount) and per check (`runc exec`). libuv forks the caller and then waits for
 * the child to exec, on the event loop's own thread, so every learner's keystroke waits with it.
 * The fork copies the caller's page tables (it grows with RSS) and, on a busy host, the child
 * must get a CPU before it can exec. This prints the synchronous part at a few RSS sizes: the
 * figure a spawn helper process would take off lab-server's loop.
 *
 *   npm run bench -- spawn-block
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { emitResult, printTable, summarize } from './support/stats';

const SPAWNS = 30;
const ballast: Buffer[] = [];
const rows: Array<{ rssMiB: number; ms: ReturnType<typeof summarize> }> = [];
for (const targetMiB of [0, 200, 400]) {
  // Touched pages, as a heap and a screen mirror's buffers are.
  while (process.memoryUsage().rss < targetMiB * 2 ** 20) ballast.push(Buffer.alloc(2 ** 20, 1));
  const times: number[] = [];
  for (let i = 0; i < SPAWNS; i++) {
    const started = performance.now();
    const child = spawn('/bin/true');
    times.push(performance.now() - started);
    await new Promise((resolve) => child.on('exit', resolve));
  }
  rows.push({ rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), ms: summarize(times) });
}
printTable(`The caller's thread held by spawn('/bin/true'), ms, ${SPAWNS} spawns each (load average ${loadavg()[0].toFixed(1)})`, ['caller RSS MiB', 'p50', 'p95', 'max'], rows.map((r) => [r.rssMiB, r.ms.p50, r.ms.p95, r.ms.max]));
emitResult({ loadAverage: loadavg()[0], rows });
