/**
 * What the CFS period of a sandbox's CPU quota does to typing.
 *
 * A sandbox gets ISOLAB_CPU_LIMIT × period of CPU time in every period. Once it has used that,
 * every process in it waits for the next period, the learner's shell too, and so the echo of a
 * keystroke. Two labs run side by side, one with the kernel's usual 100 ms period and one with
 * the product's (ISOLAB_CPU_PERIOD_MS, 10 ms); rounds alternate between them so that the box's
 * drift lands on both. In each, a learner types:
 * - idle: nothing else runs in the sandbox (the sandbox is never throttled, and the figures say so);
 * - own hog: a busy loop runs in the background of the same sandbox, as when a learner starts
 *   stress-ng or a build and types on; that sandbox is throttled in most periods.
 * For each, the sandbox's cpu.stat is read on the host: periods throttled and time throttled.
 *
 *   npm run bench -- cpu-period          (BENCH_PERIOD_KEYSTROKES, BENCH_PERIOD_ROUNDS)
 */
import { detectCgroupHost } from '../lab-server/src/cgroups/host';
import { sandboxCgroupDirs } from '../lab-server/src/cgroups/sandbox-cgroup';
import { sleep } from '../lab-server/test/support/sleep';
import { cgroupThrottling, type Throttling } from './support/lab-probe';
import { startLabProcess, type LabProcess } from './support/lab-process';
import { emitResult, printTable, round, summarize } from './support/stats';
import { isolabShell, measureEcho, PROMPT, type BenchTerminal } from './support/terminal-clients';

const KEYSTROKES = Number(process.env.BENCH_PERIOD_KEYSTROKES ?? 100);
const ROUNDS = Number(process.env.BENCH_PERIOD_ROUNDS ?? 4);
const PERIODS_MS = [100, 10];
type Phase = 'idle' | 'own hog';

const labs: LabProcess[] = [];
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, async (error) => {
    console.error(error);
    await Promise.all(labs.map((lab) => lab.stop()));
    process.exit(1);
  });
}
const cgroupHost = detectCgroupHost();

/** The sandbox's cpu.stat counters, read on the host. */
function throttling(lab: LabProcess, sandboxId: string): Throttling {
  for (const dir of sandboxCgroupDirs(cgroupHost, lab.name, sandboxId).dirs) {
    const found = cgroupThrottling(dir);
    if (found) return found;
  }
  throw new Error(`no cgroup of ${sandboxId} has the cpu controller`);
}

interface Subject {
  periodMs: number;
  lab: LabProcess;
  shell: BenchTerminal & { sandboxId: string };
  echo: Record<Phase, number[]>;
  stat: Record<Phase, { periods: number; throttled: number; throttledMs: number; seconds: number }>;
}
const subjects: Subject[] = [];
for (const periodMs of PERIODS_MS) {
  const lab = await startLabProcess({ ISOLAB_CPU_PERIOD_MS: String(periodMs) });
  labs.push(lab);
  const client = await lab.connect();
  const shell = await isolabShell(client, `typing-${periodMs}`);
  await measureEcho(shell, 20); // warm up (JIT, caches)
  const zero = () => ({ periods: 0, throttled: 0, throttledMs: 0, seconds: 0 });
  subjects.push({ periodMs, lab, shell, echo: { idle: [], 'own hog': [] }, stat: { idle: zero(), 'own hog': zero() } });
}

async function measure(subject: Subject, phase: Phase): Promise<void> {
  const { shell, lab } = subject;
  if (phase === 'own hog') {
    shell.type("(exec sh -c 'while :; do :; done') & \r");
    await shell.next(PROMPT, 10_000);
    await sleep(500); // the hog has used its quota and is throttled from here on
  }
  const before = throttling(lab, shell.sandboxId);
  const startedAt = performance.now();
  subject.echo[phase].push(...(await measureEcho(shell, KEYSTROKES)));
  const after = throttling(lab, shell.sandboxId);
  const total = subject.stat[phase];
  total.periods += after.periods - before.periods;
  total.throttled += after.throttled - before.throttled;
  total.throttledMs += after.throttledMs - before.throttledMs;
  total.seconds += (performance.now() - startedAt) / 1000;
  if (phase === 'own hog') {
    shell.clear();
    shell.type('kill %1; wait\r');
    await shell.next(PROMPT, 10_000);
  }
}

for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? subjects : [...subjects].reverse();
  for (const phase of ['idle', 'own hog'] as Phase[]) for (const subject of order) await measure(subject, phase);
}

const rows = subjects.flatMap((s) =>
  (['idle', 'own hog'] as Phase[]).map((phase) => {
    const echo = summarize(s.echo[phase]);
    const stat = s.stat[phase];
    return { periodMs: s.periodMs, phase, echo, throttledShare: round(stat.periods ? stat.throttled / stat.periods : 0), throttledMsPerSecond: round(stat.throttledMs / stat.seconds, 1) };
  }),
);
printTable(
  `Keystroke echo (ms) at ${subjects[0].lab.env.ISOLAB_CPU_LIMIT ?? 0.5} CPU per sandbox, ${ROUNDS} rounds of ${KEYSTROKES * 2} keystrokes, by CFS period`,
  ['period', 'sandbox', 'p50', 'p95', 'p99', 'max', 'periods throttled', 'throttled ms/s'],
  rows.map((row) => [`${row.periodMs} ms`, row.phase, row.echo.p50, row.echo.p95, row.echo.p99, row.echo.max, row.throttledShare, row.throttledMsPerSecond]),
);
console.log('(throttled ms/s: time the sandbox waited for its next period, summed over CPUs, per second of typing)');
emitResult({ cpus: Number(subjects[0].lab.env.ISOLAB_CPU_LIMIT ?? 0.5), rows });

for (const subject of subjects) subject.shell.close();
await Promise.all(labs.map((lab) => lab.stop()));
process.exit(0);
