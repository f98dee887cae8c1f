/**
 * Reads what bench/support/memory-probe-hook.mjs wrote (one JSON line per sample) and prints where
 * lab-server's resident memory is, over time: `npm run load -- --lab-memory-log <file>` does it
 * at the end of a run; `npx tsx bench/support/memory-log.ts <file>` does it for an old log.
 */
import { readFileSync } from 'node:fs';
import { printTable, round } from './stats';

interface Sample {
  minute: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  spaces: Record<string, { used: number; committed: number }>;
  worker: { heapUsed: number; heapTotal: number; newSpace?: number; external: number } | string;
  map: { brkHeap: number; arenas: number; arenaCount: number; otherAnon: number; files: number };
  /** The main thread's collections since the sample before. */
  gc?: { scavenges: number; scavengeMs: number; majors: number; majorMs: number; maxMs: number };
}

export function printMemoryLog(file: string): void {
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Sample | { snapshot: string })
    .filter((sample): sample is Sample => 'rss' in sample);
  const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : round(bytes / 2 ** 20, 1));
  printTable(
    `lab-server's memory by where it is (MiB; minutes since lab-server started; ${file})`,
    ['minute', 'RSS', 'main: heap used / committed', 'main: young gen', 'worker: heap used / committed', 'worker: young gen', 'malloc: main arena (brk) + thread arenas (n)', 'other anonymous (V8 pages, …)', 'files', 'main GC since: scavenges (ms) / full (ms) / longest ms'],
    samples.map((s) => {
      const worker = typeof s.worker === 'string' ? undefined : s.worker;
      return [
        s.minute,
        mib(s.rss),
        `${mib(s.heapUsed)} / ${mib(s.heapTotal)}`,
        mib(s.spaces.new_space?.committed),
        worker ? `${mib(worker.heapUsed)} / ${mib(worker.heapTotal)}` : String(s.worker),
        mib(worker?.newSpace),
        `${mib(s.map.brkHeap)} + ${mib(s.map.arenas)} (${s.map.arenaCount})`,
        mib(s.map.otherAnon),
        mib(s.map.files),
        s.gc ? `${s.gc.scavenges} (${round(s.gc.scavengeMs, 0)}) / ${s.gc.majors} (${round(s.gc.majorMs, 0)}) / ${round(s.gc.maxMs, 1)}` : '-',
      ];
    }),
  );
}

if (process.argv[1]?.endsWith('memory-log.ts') && process.argv[2]) printMemoryLog(process.argv[2]);
