/**
 * What the screen mirrors cost in memory per terminal as their history fills, and how much
 * history a reload gets back for it (the goal: lab-server's memory flat at steady state).
 *
 * N mirrors (no sandboxes: the mirrors alone, in this process and its mirror worker) of 100×30
 * are written the same kind of output, a coloured prompt, a command and its output, in rounds;
 * after each round the process's RSS is read once every mirror has parsed its output, and a
 * snapshot of one mirror is written into a browser-like terminal to count the lines it gives back
 * above the screen. The mirror's own xterm.js terminal keeps MIRROR_SCROLLBACK lines; the
 * lines it drops go into the compact history (MIRROR_HISTORY).
 *
 *   npm run bench -- mirror-history        (BENCH_MIRRORS, default 50)
 */
import headless from '@xterm/headless';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MIRROR_HISTORY, MIRROR_SCROLLBACK, mirrorWorkerMemory, ScreenMirror } from '../lab-server/src/sandbox/screen-mirror';
import { sleep } from '../lab-server/test/support/sleep';
import { emitResult, printTable, round } from './support/stats';

// Every collection a full one, here and in the mirror worker (started later, with these flags):
// RSS then follows what the mirrors keep, not when V8 last got round to a major collection.
setFlagsFromString('--gc-global');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MIRRORS = Number(process.env.BENCH_MIRRORS ?? 50);
const SIZE = { cols: 100, rows: 30 };
const CHECKPOINTS = [0, 100, 300, 1000, 2000, 4000];
const mib = (bytes: number) => bytes / 2 ** 20;

let written = 0;
/** About what a learner's terminal shows: a prompt, a command, then its output (some of it coloured). */
function output(lines: number, seed: number): string {
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = written + i + seed;
    if (n % 10 === 0) parts.push(`\x1b[1;32mroot@sbx\x1b[0m:\x1b[1;34m~/lesson\x1b[0m# ls -l --color /usr/share/doc/package-${n}`);
    else if (n % 3 === 0) parts.push(`-rw-r--r-- 1 root root ${(n * 7919) % 100_000} Nov 30 18:0${n % 10} \x1b[01;34mdirectory-${n}\x1b[0m`);
    else parts.push(`line ${n} of ordinary output from a command in the sandbox: ${'abcdefghij'.repeat(n % 5)}`);
  }
  return parts.join('\r\n') + '\r\n';
}

async function settled(mirrors: ScreenMirror[]): Promise<void> {
  await Promise.all(mirrors.map((mirror) => mirror.snapshot()));
  // Let both isolates collect what the parse left behind before RSS is read.
  await sleep(1500);
  gc();
}

function linesAbove(snapshot: string): Promise<number> {
  const terminal = new headless.Terminal({ ...SIZE, scrollback: 100_000, allowProposedApi: true });
  return new Promise((resolve) => terminal.write(snapshot, () => {
    resolve(terminal.buffer.normal.length - SIZE.rows);
    terminal.dispose();
  }));
}

await sleep(500);
// The worker's figures are what the mirrors keep (after a full collection, see the flags above),
// from when the terminals were open and empty; RSS also holds what V8 and the allocator keep
// after a peak, so it is the rougher figure.
const rssBase = process.memoryUsage().rss;
const mirrors = Array.from({ length: MIRRORS }, () => new ScreenMirror(SIZE.cols, SIZE.rows));
const workerMiB = async () => {
  const memory = await mirrorWorkerMemory();
  return mib(memory.heapUsed + memory.external);
};
await settled(mirrors);
const workerBase = await workerMiB();
const rows: Array<Array<string | number>> = [];
const samples: Array<{ lines: number; workerPerTerminalMiB: number; rssPerTerminalMiB: number; heapMiB: number; linesBack: number; snapshotKiB: number }> = [];
for (const checkpoint of CHECKPOINTS) {
  const lines = checkpoint - written;
  // In rounds of 50 lines, as a class prints them, not one flood (a flood is trimmed before parsing).
  for (let done = 0; done < lines; done += 50) {
    for (const [i, mirror] of mirrors.entries()) mirror.write(output(Math.min(50, lines - done), i));
    written += Math.min(50, lines - done);
    await Promise.all(mirrors.map((mirror) => mirror.snapshot()));
  }
  await settled(mirrors);
  const memory = process.memoryUsage();
  const snapshot = await mirrors[0].snapshot();
  const sample = {
    lines: checkpoint,
    workerPerTerminalMiB: round(((await workerMiB()) - workerBase) / MIRRORS, 3),
    rssPerTerminalMiB: round(mib(memory.rss - rssBase) / MIRRORS, 3),
    heapMiB: round(mib(memory.heapUsed), 1),
    linesBack: await linesAbove(snapshot),
    snapshotKiB: round(snapshot.length / 1024, 1),
  };
  samples.push(sample);
  rows.push([sample.lines, sample.workerPerTerminalMiB, sample.rssPerTerminalMiB, sample.heapMiB, sample.linesBack, sample.snapshotKiB]);
  console.log(`  ${checkpoint} lines written: RSS ${round(mib(memory.rss), 1)} MiB`);
}
const cpuMs = mirrors.reduce((sum, mirror) => sum + mirror.cpuMs, 0);
printTable(
  `screen mirrors: ${MIRRORS} terminals of ${SIZE.cols}×${SIZE.rows}, xterm.js scrollback ${MIRROR_SCROLLBACK} lines, history ${MIRROR_HISTORY.rows} lines / ${MIRROR_HISTORY.chars / 1024} Ki chars (load average ${(await import('node:os')).loadavg()[0].toFixed(1)})`,
  ['lines written per terminal', "worker's heap + cells per terminal (MiB)", 'RSS per terminal (MiB, this process + worker)', 'main heap (MiB)', 'lines a reload gets back above the screen', 'snapshot (Ki chars)'],
  rows,
);
console.log(`  parse CPU: ${round(cpuMs / MIRRORS / written, 4)} ms per line per terminal`);
emitResult({ mirrors: MIRRORS, size: SIZE, scrollback: MIRROR_SCROLLBACK, history: MIRROR_HISTORY, samples, parseMsPerLine: round(cpuMs / MIRRORS / written, 4) });
for (const mirror of mirrors) mirror.dispose();
process.exit(0);
