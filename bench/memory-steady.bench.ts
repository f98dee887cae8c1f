/**
 * Is lab-server's memory bounded while terminals keep printing, and by what?
 *
 * N sandboxes each print 200 lines a second for the whole run, to a client that acks like the
 * web client. lab-server's RSS is sampled every few seconds. Every per-terminal buffer has a cap
 * (README, "Limits"); the ones that grow with output are the screen mirror's scrollback, which
 * fills up to MIRROR_SCROLLBACK lines and then drops its oldest line for each new one, and its
 * history of the dropped lines (MIRROR_HISTORY chars). So RSS should rise while the mirrors fill
 * and then stay flat. The bench prints that expected bound (cells × 12 bytes: xterm.js keeps
 * 3 × 32 bits per cell, plus the history's chars) beside what RSS did.
 *
 *   npm run bench -- memory-steady        (BENCH_MEMORY_TERMINALS, BENCH_MEMORY_SECONDS)
 */
import { MIRROR_HISTORY, MIRROR_SCROLLBACK } from '../lab-server/src/sandbox/screen-mirror';
import { sleep } from '../lab-server/test/support/sleep';
import { startLabProcess } from './support/lab-process';
import { emitResult, printTable, round } from './support/stats';
import { isolabShell, type BenchTerminal } from './support/terminal-clients';

const TERMINALS = Number(process.env.BENCH_MEMORY_TERMINALS ?? 30);
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 150);
const SAMPLE_SECONDS = 5;
const LINES_PER_SECOND = 200;
/** isolabShell's terminal size. */
const SIZE = { cols: 120, rows: 40 };

const lab = await startLabProcess({ ISOLAB_MAX_SANDBOXES_PER_ADDRESS: String(TERMINALS + 10) });
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, async (error) => {
    console.error(error);
    await lab.stop();
    process.exit(1);
  });
}
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
const client = await lab.connect();
await sleep(2000);
const rssIdle = lab.rss();
const shells: BenchTerminal[] = [];
for (let i = 0; i < TERMINALS; i++) shells.push(await isolabShell(client, `memory-${i}`));
await sleep(3000);
const rssOpen = lab.rss();

const started = performance.now();
for (const shell of shells) shell.type(`while :; do seq -f 'line %g of a terminal that keeps printing' 1 ${LINES_PER_SECOND}; sleep 1; done\r`);
const samples: Array<{ second: number; rssMiB: number }> = [];
while (performance.now() - started < SECONDS * 1000) {
  await sleep(SAMPLE_SECONDS * 1000);
  samples.push({ second: Math.round((performance.now() - started) / 1000), rssMiB: mib(lab.rss()) });
  console.log(`  t=${samples.at(-1)!.second} s  lab-server RSS ${samples.at(-1)!.rssMiB} MiB`);
}
for (const shell of shells) shell.type('\x03');

// The mirrors are full once each has seen rows + scrollback lines: a few seconds at this rate.
const fullAfterSeconds = Math.ceil((SIZE.rows + MIRROR_SCROLLBACK + MIRROR_HISTORY.rows) / LINES_PER_SECOND) + 1;
const boundPerTerminalMiB = mib(SIZE.cols * (SIZE.rows + MIRROR_SCROLLBACK) * 12 + 2 * MIRROR_HISTORY.chars);
// Growth is measured from the first minute on: after the mirrors filled and V8's heaps settled.
const from = samples.find((s) => s.second >= 60) ?? samples[0];
const to = samples.at(-1)!;
const growthPercent = round((100 * (to.rssMiB - from.rssMiB)) / from.rssMiB, 1);
printTable(`lab-server memory, ${TERMINALS} terminals of ${SIZE.cols}×${SIZE.rows} printing ${LINES_PER_SECOND} lines/s for ${SECONDS} s (load average ${(await import('node:os')).loadavg()[0].toFixed(1)})`, ['', 'value'], [
  ['RSS with no sandbox (MiB)', mib(rssIdle)],
  ['RSS per terminal, open and idle (MiB)', round((mib(rssOpen) - mib(rssIdle)) / TERMINALS, 2)],
  [`RSS per terminal, printing, at ${to.second} s (MiB)`, round((to.rssMiB - mib(rssIdle)) / TERMINALS, 2)],
  [`mirror bound per terminal: ${SIZE.cols} × (${SIZE.rows} + ${MIRROR_SCROLLBACK}) cells × 12 B + history ${MIRROR_HISTORY.chars / 1024} Ki chars × 2 B (MiB), full after ~${fullAfterSeconds} s`, boundPerTerminalMiB],
  [`RSS growth from ${from.second} s to ${to.second} s`, `${growthPercent}%`],
]);
printTable('RSS over time', ['second', 'RSS MiB'], samples.map((s) => [s.second, s.rssMiB]));
emitResult({ terminals: TERMINALS, seconds: SECONDS, rssIdleMiB: mib(rssIdle), rssOpenMiB: mib(rssOpen), samples, boundPerTerminalMiB, growthPercent });

for (const shell of shells) shell.close();
client.close();
await lab.stop();
process.exit(0);
