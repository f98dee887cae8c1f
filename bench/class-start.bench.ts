/**
 * A class starts at once: N learners, each a session from its own address, open a
 * sandbox at the same moment, against a real lab-server child process. For N = 30 and N = 100,
 * with the warm pool off, at its default, and with the class warmed up ("Get ready for N
 * learners"), it prints time to prompt (p50, p95, max, the first prompt) and how many were
 * refused, and lab-server's event loop delay meanwhile (p99 and max: every learner's keystrokes
 * wait that long), beside a single idle spawn p50 measured in the same lab. Then, with 100 sandboxes
 * live, one spawn at a time, p95. Then where one spawn's time goes (see spawn-breakdown.ts).
 *
 * Targets on a 2-core box: warmed, 30 at once, p95 ≤ 100 ms; default pool, 30 at once, first
 * prompt ≤ 300 ms and p50 ≤ 1.2 s; 100 at once, nothing refused but a clear LAB_FULL beyond the
 * limit; spawn p95 with 100 live ≤ 2 × the idle p50.
 *
 * It also prints where each learner's time went (sandbox:open answered, terminal:open answered,
 * first output, prompt), the bench's own event loop delay (its N socket.io clients share the box),
 * and how many pool refills were running when the last learner got a prompt.
 *
 * BENCH_CLASS_SIZES=30 or BENCH_CLASS_MODES=off,default runs a part; BENCH_CLASS_BREAKDOWN=0 skips
 * the one-spawn breakdown.
 */
import { randomBytes } from 'node:crypto';
import type { LabClient } from '../lib/lab-client';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LOOP_MONITOR_RESOLUTION_MS, scrapeMetrics } from './support/lab-probe';
import { spawnBreakdown } from './support/spawn-breakdown';
import { startLabProcess, type LabProcess } from './support/lab-process';
import { emitResult, printTable, round, summarize } from './support/stats';
import { sleep } from '../lab-server/test/support/sleep';
import { isolabTerminal, PROMPT } from './support/terminal-clients';

const SIZES = (process.env.BENCH_CLASS_SIZES ?? '30,100').split(',').map(Number);
const MODES = (process.env.BENCH_CLASS_MODES ?? 'off,default,warmed').split(',') as Mode[];
type Mode = 'off' | 'default' | 'warmed';
const IDLE_SPAWNS = 10;
const LIVE_SPAWNS = 20;
/** The default limit, and room for the one-at-a-time spawns beside 100 live ones. */
const MAX_SANDBOXES = 110;

interface Outcome {
  promptMs: number[];
  marks: Marks[];
  /** Warm sandboxes being started (pool refills) when the last learner got a prompt. */
  refillsAtEnd?: number;
  /** The bench's own event loop delay meanwhile (its 30 socket.io clients), ms. */
  clientLoopDelay?: { p99: number; max: number };
  refused: Record<string, number>;
  /** lab-server's event loop delay while the class started, ms. */
  loopDelay?: { p99: number; max: number };
}

/** When each step of one learner's open was done, ms after `sandbox:open` was sent. */
interface Marks {
  /** `sandbox:open` answered: the sandbox is the learner's (claimed, or started). */
  opened: number;
  /** `terminal:open` answered: attached, with the screen so far. */
  attached: number;
  /** The first output, in the screen or after it. */
  firstOutput: number;
  prompt: number;
}

/** Opens a sandbox and waits for its prompt; resolves with the time each step took. */
async function openToPrompt(client: LabClient, key: string): Promise<{ ms: number; marks: Marks; sandboxId: string }> {
  const started = performance.now();
  const since = () => performance.now() - started;
  const sandbox = await client.request('sandbox:open', { key }, 120_000);
  const opened = since();
  const terminal = await isolabTerminal(client, sandbox.sandboxId, sandbox.terminals[0].terminalId, { cols: 80, rows: 24 });
  const attached = since();
  await terminal.next(/[^]/);
  const firstOutput = since();
  await terminal.next(PROMPT);
  const ms = since();
  terminal.close();
  return { ms, marks: { opened, attached, firstOutput, prompt: ms }, sandboxId: sandbox.sandboxId };
}

/** Each step's own duration across learners: open answered, attach answered, first output, prompt. */
function stepBreakdown(marks: Marks[]) {
  const step = (pick: (m: Marks) => number) => summarize(marks.map(pick));
  return {
    'sandbox:open answered': step((m) => m.opened),
    'terminal:open answered': step((m) => m.attached - m.opened),
    'first output after attach': step((m) => m.firstOutput - m.attached),
    'prompt after first output': step((m) => m.prompt - m.firstOutput),
  };
}

/** One spawn at a time, each closed before the next: the idle (or loaded) single-spawn figure. */
async function sequentialSpawns(client: LabClient, count: number, prefix: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const { ms, sandboxId } = await openToPrompt(client, `${prefix}-${i}`);
    times.push(ms);
    await client.request('sandbox:close', { sandboxId });
  }
  return times;
}

async function waitForPool(instructor: LabClient, ready: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  while ((await instructor.request('class:watch', {})).warmPool.ready < ready) {
    if (Date.now() > deadline) throw new Error(`the pool did not reach ${ready} warm sandboxes`);
    await sleep(100);
  }
}

async function classRun(size: number, mode: Mode): Promise<{ outcome: Outcome; idle: number[]; live?: number[]; lab: LabProcess }> {
  const instructorToken = randomBytes(24).toString('base64url');
  const lab = await startLabProcess({
    ISOLAB_MAX_SANDBOXES: String(MAX_SANDBOXES),
    ISOLAB_MAX_SANDBOXES_PER_SESSION: '3',
    ISOLAB_WARM_SANDBOXES: mode === 'off' ? '0' : 'auto',
    ISOLAB_INSTRUCTOR_TOKEN: instructorToken,
  });
  const instructor = await lab.connect({ instructorToken });
  // The idle spawn of this very lab, with the pool off for it: a cold `runc run`.
  const idleClient = await lab.connect({ localAddress: '127.0.1.1' });
  let idle: number[] = [];
  if (mode === 'off') idle = await sequentialSpawns(idleClient, IDLE_SPAWNS, 'idle');
  if (mode === 'default') await waitForPool(instructor, (await instructor.request('class:watch', {})).warmPool.target);
  if (mode === 'warmed') {
    const asked = await instructor.request('class:warm-up', { learners: size });
    await waitForPool(instructor, asked.target);
  }
  // Each learner its own session and address (127.0.0.2, ...), all connected before the bell.
  const learners = await Promise.all(Array.from({ length: size }, (_, i) => lab.connect({ localAddress: `127.0.${2 + Math.floor(i / 200)}.${2 + (i % 200)}`, timeoutMs: 60_000 })));
  await sleep(500);
  const outcome: Outcome = { promptMs: [], marks: [], refused: {} };
  await scrapeMetrics(lab.url); // prom-client's loop delay histogram starts again from here
  const clientLoop = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
  clientLoop.enable();
  await Promise.all(
    learners.map(async (client) => {
      try {
        const { ms, marks } = await openToPrompt(client, 'lesson');
        outcome.promptMs.push(ms);
        outcome.marks.push(marks);
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'ERROR';
        outcome.refused[code] = (outcome.refused[code] ?? 0) + 1;
        if (code !== 'LAB_FULL') console.error(`  learner failed: ${code}: ${(error as Error).message}`);
      }
    }),
  );
  clientLoop.disable();
  const clientMs = (ns: number) => round(Math.max(0, ns / 1e6 - LOOP_MONITOR_RESOLUTION_MS));
  outcome.clientLoopDelay = { p99: clientMs(clientLoop.percentile(99)), max: clientMs(clientLoop.max) };
  if (mode !== 'off') outcome.refillsAtEnd = (await instructor.request('class:watch', {})).warmPool.starting;
  const loop = await scrapeMetrics(lab.url);
  outcome.loopDelay = { p99: round(loop.loopDelayP99Ms), max: round(loop.loopDelayMaxMs) };
  let live: number[] | undefined;
  if (mode === 'off' && size >= 100) live = await sequentialSpawns(idleClient, LIVE_SPAWNS, 'live');
  for (const client of [...learners, idleClient, instructor]) client.close();
  return { outcome, idle, live, lab };
}

const rows: Array<Array<string | number>> = [];
const stepRows: Array<Array<string | number>> = [];
const results: Record<string, unknown> = {};
let idleP50 = NaN;
let liveP95 = NaN;
const targets: Record<string, boolean> = {};
for (const size of SIZES) {
  for (const mode of MODES) {
    const run = await classRun(size, mode);
    await run.lab.stop();
    const stats = summarize(run.outcome.promptMs);
    const first = stats.min;
    const refused = Object.entries(run.outcome.refused).map(([code, n]) => `${n} ${code}`).join(', ') || '0';
    if (run.idle.length > 0) idleP50 = summarize(run.idle).p50;
    if (run.live) liveP95 = summarize(run.live).p95;
    const loop = run.outcome.loopDelay;
    rows.push([`${size} at once, pool ${mode}`, stats.n, first, stats.p50, stats.p95, stats.max, refused, loop?.p99 ?? NaN, loop?.max ?? NaN]);
    const steps = stepBreakdown(run.outcome.marks);
    for (const [step, s] of Object.entries(steps)) stepRows.push([`${size} ${mode}: ${step}`, s.p50, s.p95, s.max]);
    const client = run.outcome.clientLoopDelay;
    stepRows.push([`${size} ${mode}: bench's own loop delay p99 / max; refills running at the end`, client?.p99 ?? NaN, client?.max ?? NaN, run.outcome.refillsAtEnd ?? '-']);
    results[`n${size}-${mode}`] = { ...stats, firstMs: first, refused: run.outcome.refused, loopDelayMs: loop, steps, clientLoopDelayMs: client, refillsAtEnd: run.outcome.refillsAtEnd };
    if (size === 30 && mode === 'warmed') targets.warmed30P95Under100ms = stats.p95 <= 100;
    if (size === 30 && mode === 'default') targets.default30FirstUnder300msP50Under1200ms = first <= 300 && stats.p50 <= 1200;
    if (size === 100) targets[`n100-${mode}-onlyLabFull`] = Object.keys(run.outcome.refused).every((code) => code === 'LAB_FULL');
  }
}
printTable(`A class opening a lesson at once: time to prompt, and lab-server's loop delay meanwhile (ms; load average ${loadavg()[0].toFixed(1)})`, ['run', 'prompts', 'first', 'p50', 'p95', 'max', 'refused', 'loop p99', 'loop max'], rows);
printTable("Where each learner's time went: each step's own duration (ms)", ['step', 'p50', 'p95', 'max'], stepRows);
const liveRatio = round(liveP95 / idleP50);
printTable('One spawn at a time (ms)', ['', 'value'], [
  [`idle spawn p50 (${IDLE_SPAWNS}, pool off)`, idleP50],
  [`spawn p95 with 100 live (${LIVE_SPAWNS})`, liveP95],
  ['ratio', liveRatio],
]);
if (!Number.isNaN(liveRatio)) targets.live100P95Within2xIdleP50 = liveRatio <= 2;

// BENCH_CLASS_BREAKDOWN=0 skips the one-spawn breakdown (several minutes on a busy box).
const breakdown = process.env.BENCH_CLASS_BREAKDOWN === '0' ? undefined : await spawnBreakdown();

console.log(`\nTargets: ${Object.entries(targets).map(([name, met]) => `${met ? '✓' : '✗'} ${name}`).join('   ')}`);
emitResult({ classStart: results, idleSpawnP50Ms: idleP50, live100SpawnP95Ms: liveP95, live100Ratio: liveRatio, breakdown, targets });
