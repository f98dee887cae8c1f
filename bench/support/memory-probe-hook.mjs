// `npm run load -- --lab-memory-log <file>`: loaded into lab-server with `--import`, it writes one
// JSON line every ISOLAB_BENCH_MEMORY_SECONDS (30) to <file>: the main thread's V8 heap (per
// space), the mirror worker's heap, and where the process's resident memory is (smaps: the brk
// heap, glibc's thread arenas, other anonymous mappings, files). With ISOLAB_BENCH_HEAPSNAP_AT
// ("2,7": minutes after lab-server started) it also writes heap snapshots of the main thread and
// of every worker thread next to <file>. Diagnostics only: a snapshot stops lab-server for seconds
// and leaves its RSS higher afterwards, so a run that takes them is not a figure.
import { readFileSync, createWriteStream } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const file = process.env.ISOLAB_BENCH_MEMORY_LOG;
if (file && process.argv[1]?.endsWith('main.ts')) {
  const require = createRequire(import.meta.url);
  const threads = require('node:worker_threads');
  /** Every worker lab-server starts (the mirror's), for their heap snapshots. */
  const workers = [];
  const Original = threads.Worker;
  threads.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      workers.push(this);
    }
  };
  syncBuiltinESMExports();
  // The main thread's garbage collections since the last sample: how many, and their pauses.
  let gc = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const minor = entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
      if (minor) (gc.scavenges++, (gc.scavengeMs += entry.duration));
      else (gc.majors++, (gc.majorMs += entry.duration));
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const startedAt = Date.now();
  const every = Number(process.env.ISOLAB_BENCH_MEMORY_SECONDS || 30) * 1000;
  const snapshotsAt = (process.env.ISOLAB_BENCH_HEAPSNAP_AT || '').split(',').filter(Boolean).map(Number);
  const kB = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const mirrorModule = pathToFileURL(resolve('lab-server/src/sandbox/screen-mirror.ts')).href;

  /** Resident memory by kind of mapping, from /proc/self/smaps. */
  function mappings() {
    const text = readFileSync('/proc/self/smaps', 'utf8');
    const regions = [];
    let current;
    for (const line of text.split('\n')) {
      const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        current = { start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], path: head[4], rss: 0 };
        regions.push(current);
      } else if (current && line.startsWith('Rss:')) current.rss = Number(/(\d+)/.exec(line)[1]) * 1024;
    }
    const out = { brkHeap: 0, arenas: 0, arenaCount: 0, otherAnon: 0, otherAnonBig: [], files: 0, stacks: 0 };
    const ARENA = 64 * 2 ** 20;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      if (r.path === '[heap]') out.brkHeap += r.rss;
      else if (r.path.startsWith('[stack')) out.stacks += r.rss;
      else if (r.path.startsWith('/')) out.files += r.rss;
      else if (r.path === '') {
        // A glibc thread arena: a 64 MiB-aligned reservation, its used head rw-p, the rest ---p.
        const next = regions[i + 1];
        if (r.start % ARENA === 0 && r.perms === 'rw-p' && next && next.path === '' && next.perms === '---p' && next.start === r.end && next.end - r.start === ARENA) {
          out.arenas += r.rss;
          out.arenaCount++;
        } else {
          out.otherAnon += r.rss;
          if (r.rss > 4 * 2 ** 20) out.otherAnonBig.push({ at: r.start.toString(16), sizeMiB: +((r.end - r.start) / 2 ** 20).toFixed(1), rssMiB: +(r.rss / 2 ** 20).toFixed(1) });
        }
      }
    }
    return out;
  }

  async function sample() {
    const minute = +((Date.now() - startedAt) / 60_000).toFixed(2);
    const usage = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, committed: s.physical_space_size }]));
    const heap = v8.getHeapStatistics();
    let worker;
    try {
      const { mirrorWorkerMemory } = await import(mirrorModule);
      worker = await Promise.race([mirrorWorkerMemory(), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    } catch (error) {
      worker = String(error);
    }
    const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
    appendFileSync(
      file,
      JSON.stringify({
        minute,
        rss: usage.rss,
        heapTotal: usage.heapTotal,
        heapUsed: usage.heapUsed,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
        mallocedMemory: heap.malloced_memory,
        peakMallocedMemory: heap.peak_malloced_memory,
        spaces,
        worker,
        anonymous: kB(rollup, 'Anonymous'),
        map: mappings(),
        handles: process._getActiveHandles().length,
        gc,
      }) + '\n',
    );
    gc = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0, maxMs: 0 };
  }
  setInterval(() => void sample(), every).unref();

  for (const at of snapshotsAt) {
    setTimeout(async () => {
      const stem = `${file}.${at}min`;
      v8.writeHeapSnapshot(`${stem}.main.heapsnapshot`);
      for (const [i, worker] of workers.entries()) {
        try {
          const stream = await worker.getHeapSnapshot();
          await new Promise((done, fail) => stream.pipe(createWriteStream(`${stem}.worker${i}.heapsnapshot`)).on('finish', done).on('error', fail));
        } catch (error) {
          appendFileSync(file, JSON.stringify({ snapshotError: String(error) }) + '\n');
        }
      }
      appendFileSync(file, JSON.stringify({ snapshot: stem, minute: +((Date.now() - startedAt) / 60_000).toFixed(2) }) + '\n');
    }, at * 60_000).unref();
  }
}
