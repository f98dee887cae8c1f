/**
 * `npm run bench -- class-record`: what recording a pass costs lab-server's event loop (better-
 * sqlite3 is synchronous, so this time is the loop's), with the synchronous setting the lab uses
 * (NORMAL, in WAL mode) against FULL, which fsyncs on every commit. The file is in the data
 * directory's filesystem, as the lab's record is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ProgressDb } from '../lab-server/src/progress/progress-db';
import { summarize } from './support/stats';

const PASSES = 400;
const dir = mkdtempSync(join(process.env.ISOLAB_DATA_DIR ?? '/var/lib/isolab', 'bench-record-'));
const results: Record<string, unknown> = {};
try {
  for (const synchronous of ['NORMAL', 'FULL'] as const) {
    const path = join(dir, `${synchronous}.db`);
    const record = new ProgressDb(path, { synchronous });
    const times: number[] = [];
    for (let i = 0; i < PASSES; i++) {
      const learner = `ses-${String(i % 40).padStart(12, '0')}`;
      if (i < 40) record.saveLearner({ id: learner, displayName: `learner ${i}`, createdAt: Date.now() }, `hash-${i}`);
      const started = process.hrtime.bigint();
      record.recordPass(learner, 'uts', `step-${i}`, Date.now());
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    record.close();
    const stats = summarize(times);
    results[synchronous] = stats;
    console.log(`synchronous=${synchronous.padEnd(6)} recordPass (ms): p50 ${stats.p50.toFixed(3)}  p95 ${stats.p95.toFixed(3)}  max ${stats.max.toFixed(3)}  (${PASSES} passes)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`BENCH_RESULT ${JSON.stringify(results)}`);
