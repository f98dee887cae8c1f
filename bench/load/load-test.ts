/**
 * `npm run load`: simulated learners against one real lab-server (a child process with its own
 * state directory and cgroup parent). Not part of CI.
 *
 *   npm run load -- --learners 100 --minutes 10 [--ramp-seconds 60] [--sample-seconds 15] [--learners-per-thread 10] [--generator-nice 10] [--lab-cpu-profile lab.cpuprofile]
 *     [--lab-memory-log lab-memory.jsonl [--lab-heap-snapshots 2,8]]
 *
 * Each learner opens a sandbox, types commands at a human pace (every keystroke's echo is timed),
 * runs them and reads their output, pauses to think, and now and then drops its connection and
 * comes back with its session token, as a reloaded tab does. A learner counts as dropped when its
 * sandbox ends without it asking, or when a command, an echo or a reconnect fails or times out.
 * lab-server's RSS is sampled throughout.
 *
 * Where a keystroke waits is printed for the steady state (after the ramp): the echo as learners
 * measure it; inside lab-server, from input to the shell's output read back (the pty, runc's
 * relay, the shell and its sandbox's CPU) and from there to the socket (isolab_terminal_echo_seconds);
 * lab-server's event loop delay and CPU; the sandboxes' CPU throttling (their cpu.stat); and the
 * load generator's own event loop delay and CPU, which are in every echo it measures too.
 *
 * The learners run on worker threads (learner-thread.ts), --learners-per-thread each (10), every
 * thread with its own event loop and socket.io connections: a class is a hundred browsers on
 * other machines, and on one thread each echo also waited for 99 other learners' events. The
 * threads still share this box's CPUs with the lab, which real browsers do not.
 *
 * Every learner connects from its own loopback address (127.0.0.x): lab-server caps connections
 * per address at 64, and a class is many addresses, not one.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startLabProcess } from '../support/lab-process';
import { printMemoryLog } from '../support/memory-log';
import { TEST_ORIGIN as BENCH_ORIGIN } from '../../lab-server/test/support/test-lab';
import { printTable, round, summarize } from '../support/stats';
import { bucketDelta, bucketQuantileMs, cpuSeconds, labProcesses, labThrottling, meanSchedWaitMs, schedStats, scrapeMetrics, type MetricsSample, type SchedStats, type Throttling } from '../support/lab-probe';
import { TIMED_COMMAND, type ThreadData, type ThreadProgress, type ThreadStart, type ThreadStats } from './class-plan';

const { values: flags } = parseArgs({
  options: {
    learners: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '10' },
    'ramp-seconds': { type: 'string', default: '60' },
    'sample-seconds': { type: 'string', default: '15' },
    'learners-per-thread': { type: 'string', default: '10' },
    /**
     * Niceness of the learner threads (10). The generator takes a third of a core, and every
     * message lab-server sends over loopback wakes a learner thread from inside lab-server's
     * write, where the woken thread can take the CPU from it: costs a class's browsers, on other
     * machines, do not put on the lab's box. Niced, the generator gives way to the lab; it still
     * offers the same load (it typed more keys, not fewer, in the runs beside each other), and
     * when it reads an echo late because of it, that counts against the figure, not for it: the
     * breakdown prints its threads' delay. `--generator-nice 0` runs it as before.
     */
    'generator-nice': { type: 'string', default: '10' },
    /** Writes lab-server's CPU profile (.cpuprofile, for Chrome DevTools) here when it stops. */
    'lab-cpu-profile': { type: 'string' },
    /**
     * Writes lab-server's memory, by where it is (V8 spaces of the main thread, the mirror
     * worker's heap, glibc's arenas, files), to this file every 30 s (bench/support/memory-probe-hook.mjs).
     */
    'lab-memory-log': { type: 'string' },
    /** With --lab-memory-log: heap snapshots of lab-server's threads at these minutes ("2,7"); not for figures. */
    'lab-heap-snapshots': { type: 'string' },
  },
});
const LEARNERS = Number(flags.learners);
const DURATION_MS = Number(flags.minutes) * 60_000;
const RAMP_MS = Number(flags['ramp-seconds']) * 1000;
const GENERATOR_NICE = Number(flags['generator-nice']);
const SAMPLE_MS = Number(flags['sample-seconds']) * 1000;
/** The generator's own heartbeat, and the lateness that counts as the box having stopped (generatorStalls). */
const STALL_TICK_MS = 250;
const STALL_REPORT_MS = 3000;

const stats: ThreadStats = { echoMs: [], steadyEchoMs: [], commandMs: [], timedCommandMs: [], reconnectMs: [], commands: 0, keystrokes: 0, reconnects: 0, dropped: 0, dropReasons: {}, dropTimes: [] };
const rssSamples: Array<{
  minute: number;
  rssMiB: number;
  sandboxes: number;
  learnersActive: number;
  loopDelayP99Ms: number;
  labCpuPercent: number;
  /** The learner threads' event loop delay p99 in this window: the median thread's and the worst one's. */
  clientDelayP99Ms: number;
  clientDelayWorstP99Ms: number;
  /** This whole load generator's CPU (all its threads), % of one core. */
  clientCpuPercent: number;
}> = [];

const CPU_PROFILE = flags['lab-cpu-profile'] ? resolve(flags['lab-cpu-profile']) : undefined;
const MEMORY_LOG = flags['lab-memory-log'] ? resolve(flags['lab-memory-log']) : undefined;
const hook = (name: string) => `--import ${fileURLToPath(new URL(`../support/${name}`, import.meta.url))}`;
const nodeOptions = [CPU_PROFILE && hook('cpu-profile-hook.mjs'), MEMORY_LOG && hook('memory-probe-hook.mjs')].filter(Boolean).join(' ');
const labStartedAt = Date.now();
const lab = await startLabProcess({
  ISOLAB_MAX_SANDBOXES: String(LEARNERS + 10),
  ISOLAB_LOG_LEVEL: 'warn',
  ISOLAB_IDLE_SECONDS: '3600',
  ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  ...(CPU_PROFILE ? { ISOLAB_BENCH_CPU_PROFILE: CPU_PROFILE } : {}),
  ...(MEMORY_LOG ? { ISOLAB_BENCH_MEMORY_LOG: MEMORY_LOG, ISOLAB_BENCH_HEAPSNAP_AT: flags['lab-heap-snapshots'] ?? '' } : {}),
});
const threads: Worker[] = [];
for (const event of ['uncaughtException', 'unhandledRejection', 'SIGINT'] as const) {
  process.on(event, async (error) => {
    console.error(error);
    await Promise.all(threads.map((thread) => thread.terminate()));
    await lab.stop();
    process.exit(1);
  });
}

console.log(`Load: ${LEARNERS} learners for ${flags.minutes} min (ramp ${RAMP_MS / 1000} s) against ${lab.url}, lab-server pid ${lab.pid}`);
const rssAtStart = round(lab.rss() / 2 ** 20, 1);
const perThread = Math.max(1, Number(flags['learners-per-thread']));
const indices = Array.from({ length: LEARNERS }, (_, i) => i);
const runs: Array<Promise<void>> = [];
const ready: Array<Promise<void>> = [];
for (let first = 0; first < LEARNERS; first += perThread) {
  const workerData: ThreadData = {
    labUrl: lab.url,
    origin: BENCH_ORIGIN,
    // Interleaved, so the ramp adds learners to every thread in turn.
    learners: indices.filter((i) => i % Math.ceil(LEARNERS / perThread) === first / perThread),
    classSize: LEARNERS,
    rampMs: RAMP_MS,
    nice: GENERATOR_NICE,
  };
  const thread = new Worker(new URL('./learner-thread-boot.mjs', import.meta.url), { workerData });
  threads.push(thread);
  ready.push(new Promise((resolve, reject) => {
    thread.once('message', (message: { type: 'ready' }) => (message.type === 'ready' ? resolve() : reject(new Error(`a learner thread said ${message.type} first`))));
    thread.once('error', reject);
  }));
  runs.push(
    new Promise((resolve, reject) => {
      thread.on('message', (message: { type: 'done'; stats: ThreadStats } | ThreadProgress) => {
        if (message.type !== 'done') return;
        const theirs = message.stats;
        for (const key of ['echoMs', 'steadyEchoMs', 'commandMs', 'timedCommandMs', 'reconnectMs'] as const) for (const value of theirs[key]) stats[key].push(value);
        for (const key of ['commands', 'keystrokes', 'reconnects', 'dropped'] as const) stats[key] += theirs[key];
        for (const [reason, count] of Object.entries(theirs.dropReasons)) stats.dropReasons[reason] = (stats.dropReasons[reason] ?? 0) + count;
        stats.dropTimes.push(...theirs.dropTimes);
        resolve();
      });
      thread.once('error', reject);
    }),
  );
}
// A thread loads its code before it can start (seconds on a busy box): the ramp starts when all are ready.
await Promise.all(ready);
console.log(`  ${threads.length} learner threads, ${perThread} learners each, nice ${GENERATOR_NICE}`);
const started = Date.now();
/**
 * Times this process did not run at all for a while: its main thread does almost nothing, so a
 * late tick means the whole box stopped (a VM paused for a snapshot: stop 18's run that dropped 9
 * learners at its end had lab-server and this generator both idle for half a minute, and the
 * kernel's log said "crng reseeded due to virtual machine fork" then). When it runs again, every
 * learner's timer that expired meanwhile fires before the answers waiting in its socket are read,
 * so a pause counts as drops ("echo timed out", a close "never answered") that the lab did not cause.
 */
const generatorStalls: Array<{ minute: number; seconds: number }> = [];
let lastTick = performance.now();
const stallWatch = setInterval(() => {
  const now = performance.now();
  if (now - lastTick > STALL_REPORT_MS) generatorStalls.push({ minute: round((Date.now() - started) / 60_000, 2), seconds: round((now - lastTick) / 1000, 1) });
  lastTick = now;
}, STALL_TICK_MS);
const endAt = started + DURATION_MS;
/** The breakdown covers from here (every learner has started) to the end. */
const steadyFrom = started + RAMP_MS;
for (const thread of threads) thread.postMessage({ type: 'start', startedAt: started, endAt, steadyFrom } satisfies ThreadStart);
/** Each thread's latest answer to `sample`. */
const progress = new Map<Worker, ThreadProgress>();
const active = () => [...progress.values()].reduce((sum, p) => sum + p.active, 0);
const total = (key: 'keystrokes' | 'commands' | 'dropped') => [...progress.values()].reduce((sum, p) => sum + p[key], 0);
/** Asks every learner thread for its counters; a thread too busy to answer in 5 s keeps its last. */
const sampleThreads = () =>
  Promise.all(
    threads.map(
      (thread) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          thread.once('message', (message: ThreadProgress) => {
            clearTimeout(timer);
            if (message.type === 'progress') progress.set(thread, message);
            resolve();
          });
          thread.postMessage({ type: 'sample' });
        }),
    ),
  );
const generatorCpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
let previous = { at: performance.now(), cpu: cpuSeconds(lab.pid), clientCpu: generatorCpuSeconds() };
type Probe = { metrics: MetricsSample; throttling: Throttling; sched: Record<'shells' | 'relays' | 'lab', SchedStats>; at: number };
let steadyStart: Probe | undefined;
/** The last sample while the learners' sandboxes were all there (their cgroups take their counters when they close). */
let steadyEnd: Probe | undefined;
const sampler = setInterval(async () => {
  const health = (await (await fetch(`${lab.url}/healthz`)).json()) as { sandboxes: number };
  const metrics = await scrapeMetrics(lab.url);
  await sampleThreads();
  const now = { at: performance.now(), cpu: cpuSeconds(lab.pid), clientCpu: generatorCpuSeconds() };
  const labCpuPercent = round((100 * (now.cpu - previous.cpu)) / ((now.at - previous.at) / 1000), 0);
  const clientCpuPercent = round((100 * (now.clientCpu - previous.clientCpu)) / ((now.at - previous.at) / 1000), 0);
  previous = now;
  const threadDelays = [...progress.values()].map((p) => p.loopDelayP99Ms).sort((a, b) => a - b);
  if (Date.now() > steadyFrom && Date.now() < endAt) {
    const processes = labProcesses(lab.name, lab.pid);
    const sched = { shells: schedStats(processes.shells), relays: schedStats(processes.relays), lab: schedStats([lab.pid]) };
    const probe = { metrics, throttling: labThrottling(lab.name), sched, at: now.at };
    steadyStart ??= probe;
    steadyEnd = probe;
  }
  rssSamples.push({
    minute: round((Date.now() - started) / 60_000, 1),
    rssMiB: round(lab.rss() / 2 ** 20, 1),
    sandboxes: health.sandboxes,
    learnersActive: active(),
    loopDelayP99Ms: round(metrics.loopDelayP99Ms, 0),
    labCpuPercent,
    clientDelayP99Ms: round(threadDelays[Math.floor(threadDelays.length / 2)] ?? NaN, 0),
    clientDelayWorstP99Ms: round(threadDelays.at(-1) ?? NaN, 0),
    clientCpuPercent,
  });
  const last = rssSamples.at(-1)!;
  console.log(
    `  t=${last.minute} min  learners=${last.learnersActive}  sandboxes=${last.sandboxes}  lab-server RSS=${last.rssMiB} MiB, CPU ${labCpuPercent}%, loop delay p99 ${last.loopDelayP99Ms} ms  generator CPU ${clientCpuPercent}%, loop delay p99 ${last.clientDelayP99Ms}/${last.clientDelayWorstP99Ms} ms  keystrokes=${total('keystrokes')}  commands=${total('commands')}  dropped=${total('dropped')}  load ${loadavg()[0].toFixed(1)}`,
  );
}, SAMPLE_MS);

await Promise.all(runs);
await Promise.all(threads.map((thread) => thread.terminate()));
clearInterval(sampler);
clearInterval(stallWatch);

const echo = summarize(stats.echoMs);
const commands = summarize(stats.commandMs);
const timedCommands = stats.timedCommandMs.length ? summarize(stats.timedCommandMs) : undefined;
const reconnects = stats.reconnectMs.length ? summarize(stats.reconnectMs) : undefined;
const rssAtEnd = round(lab.rss() / 2 ** 20, 1);
// Steady state: after the ramp and before the end (a learner who dropped does not end it).
const steady = rssSamples.filter((s) => s.minute * 60_000 >= RAMP_MS && s.minute * 60_000 <= DURATION_MS);
const steadyRss = steady.length ? [...steady].sort((a, b) => a.rssMiB - b.rssMiB)[Math.floor(steady.length / 2)] : undefined;
const rssPerSandboxMiB = steadyRss && steadyRss.sandboxes ? round((steadyRss.rssMiB - rssAtStart) / steadyRss.sandboxes, 2) : undefined;
// Growth from minute 2 (or the end of the ramp, if later) to the last steady sample.
const growthFrom = steady.find((s) => s.minute >= 2) ?? steady[0];
const growthTo = steady.at(-1);
const growth = (from: number, to: number) => round((100 * (to - from)) / from, 1);
const rssGrowthPercent = growthFrom && growthTo && growthTo !== growthFrom ? growth(growthFrom.rssMiB, growthTo.rssMiB) : undefined;
// The same growth read from each end's minute of samples: garbage collection moves RSS by ±5 %
// between two 15-s samples, so one sample at each end shows growth or shrinking that is only
// where the samples fell (a dip at minute 2 read +15 % in a run whose memory log said +4 %).
// Only when the two minutes do not overlap.
const minuteMean = (samples: typeof steady) => samples.reduce((sum, s) => sum + s.rssMiB, 0) / samples.length;
const firstMinute = growthFrom ? steady.filter((s) => s.minute >= growthFrom.minute && s.minute < growthFrom.minute + 1) : [];
const lastMinute = growthTo ? steady.filter((s) => s.minute > growthTo.minute - 1) : [];
const rssMinuteGrowthPercent =
  growthFrom && growthTo && growthTo.minute - growthFrom.minute >= 2 && firstMinute.length && lastMinute.length
    ? growth(minuteMean(firstMinute), minuteMean(lastMinute))
    : undefined;
printTable(`Load: ${LEARNERS} learners, ${flags.minutes} min`, ['', 'value'], [
  ['sessions dropped (goal 0)', stats.dropped],
  ['keystrokes typed', stats.keystrokes],
  ['commands run', stats.commands + stats.timedCommandMs.length],
  ['reconnects', stats.reconnects],
  ['echo p50 / p95 / p99 / max (ms)', `${echo.p50} / ${echo.p95} / ${echo.p99} / ${echo.max}`],
  ['command round trip p50 / p99 (ms)', `${commands.p50} / ${commands.p99}`],
  [`… of \`${TIMED_COMMAND} -t 2\` (2 s by design) p50 / p99 (ms)`, timedCommands ? `${timedCommands.p50} / ${timedCommands.p99}` : '-'],
  ['reconnect p50 / p99 (ms)', reconnects ? `${reconnects.p50} / ${reconnects.p99}` : '-'],
  ['lab-server RSS at start / peak / end (MiB)', `${rssAtStart} / ${rssSamples.reduce((peak, s) => Math.max(peak, s.rssMiB), 0)} / ${rssAtEnd}`],
  ['lab-server RSS per sandbox at steady state (MiB)', rssPerSandboxMiB ?? '-'],
  [`RSS growth from minute ${growthFrom?.minute ?? '-'} to ${growthTo?.minute ?? '-'} (goal ≤ 10%)`, rssGrowthPercent === undefined ? '-' : `${rssGrowthPercent}%`],
  [
    `… mean of the minute from ${growthFrom?.minute ?? '-'} against the minute to ${growthTo?.minute ?? '-'} (${firstMinute.length} and ${lastMinute.length} samples)`,
    rssMinuteGrowthPercent === undefined ? '-' : `${rssMinuteGrowthPercent}%`,
  ],
]);
if (stats.dropped) {
  console.log('drop reasons:', stats.dropReasons);
  // A drop while the class runs and one while it ends (learners closing their sandboxes) are different leads.
  const minutes = stats.dropTimes.sort((a, b) => a - b).map((at) => round((at - started) / 60_000, 2));
  console.log(`drops at minute: ${minutes.join(', ')} (the class ends at ${flags.minutes})`);
}
if (generatorStalls.length > 0) {
  const list = generatorStalls.map((s) => `${s.seconds} s at minute ${s.minute}`).join(', ');
  console.log(`this generator did not run at all for ${list}: the whole box stopped if lab-server's loop stalled then too (LOOP_STALLED below); drops just after are the pause's, not the lab's`);
}
// Also in a run that dropped nobody: a teardown that was slow (TEARDOWN_SLOW) is the lead to a
// class's end that hangs.
const said = lab
  .output()
  .split('\n')
  .filter((line) => /^\{.*"level":"(warn|error)"/.test(line));
console.log(said.length ? `lab-server's warnings and errors (last 40 lines):\n${said.slice(-40).join('\n')}` : 'lab-server logged no warning or error.');

// ---- where a keystroke waits, after the ramp ------------------------------------------------
let breakdown: Record<string, unknown> | undefined;
if (steadyStart && steadyEnd && steadyEnd !== steadyStart) {
  const steadyEcho = summarize(stats.steadyEchoMs);
  const stage = (name: 'shell' | 'send') => {
    const delta = bucketDelta(steadyEnd!.metrics.echo[name], steadyStart!.metrics.echo[name]);
    return { p50: round(bucketQuantileMs(delta, 0.5), 1), p99: round(bucketQuantileMs(delta, 0.99), 1) };
  };
  const shell = stage('shell');
  const send = stage('send');
  type Sampled = 'loopDelayP99Ms' | 'clientDelayP99Ms' | 'clientDelayWorstP99Ms' | 'labCpuPercent' | 'clientCpuPercent';
  const maxOf = (key: Sampled) => steady.reduce((m, s) => Math.max(m, s[key]), 0);
  const medianOf = (key: Sampled) => (steady.length ? [...steady].sort((a, b) => a[key] - b[key])[Math.floor(steady.length / 2)][key] : NaN);
  const seconds = (steadyEnd.at - steadyStart.at) / 1000;
  const throttled = steadyEnd.throttling.throttled - steadyStart.throttling.throttled;
  const periods = steadyEnd.throttling.periods - steadyStart.throttling.periods;
  const throttledMsPerSandboxSecond = round((steadyEnd.throttling.throttledMs - steadyStart.throttling.throttledMs) / seconds / LEARNERS, 1);
  const cpuWait = (who: 'shells' | 'relays' | 'lab') => round(meanSchedWaitMs(steadyEnd!.sched[who], steadyStart!.sched[who]), 2);
  breakdown = {
    echoMs: steadyEcho,
    shellMs: shell,
    sendMs: send,
    labLoopDelayP99Ms: { median: medianOf('loopDelayP99Ms'), max: maxOf('loopDelayP99Ms') },
    labCpuPercent: { median: medianOf('labCpuPercent'), max: maxOf('labCpuPercent') },
    clientLoopDelayP99Ms: { median: medianOf('clientDelayP99Ms'), max: maxOf('clientDelayP99Ms'), worstThreadMax: maxOf('clientDelayWorstP99Ms') },
    clientCpuPercent: { median: medianOf('clientCpuPercent'), max: maxOf('clientCpuPercent') },
    learnerThreads: threads.length,
    sandboxThrottling: { periodsThrottled: periods ? round(throttled / periods, 3) : 0, throttledMsPerSandboxSecond },
    meanCpuWaitMs: { sandboxShells: cpuWait('shells'), runcRelays: cpuWait('relays'), labServerLoop: cpuWait('lab') },
  };
  printTable(`Where a keystroke waits, from minute ${round(RAMP_MS / 60_000, 1)} to the end (load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')})`, ['', 'p50', 'p99 (or per-window p99: median / max)'], [
    ['echo, as the learners measure it (send → echo read, in a learner thread)', steadyEcho.p50, steadyEcho.p99],
    ['  the generator, before the echo is read: its threads\' event loop delay (ms; median thread / worst thread)', '', `${medianOf('clientDelayP99Ms')} / ${maxOf('clientDelayWorstP99Ms')}`],
    [`  the generator's CPU, ${threads.length} threads (% of one core; the lab's CPU too, on one box)`, '', `${medianOf('clientCpuPercent')} / ${maxOf('clientCpuPercent')}`],
    ['  lab-server, before the keystroke is read: its event loop delay (ms; read → pty write is one callback)', '', `${medianOf('loopDelayP99Ms')} / ${maxOf('loopDelayP99Ms')}`],
    ['  lab-server: pty write → shell output read back (pty, runc relay, shell, sandbox CPU)', shell.p50, shell.p99],
    ['  lab-server: that output → socket (batching, event loop)', send.p50, send.p99],
    ['  lab-server CPU (% of one core)', '', `${medianOf('labCpuPercent')} / ${maxOf('labCpuPercent')}`],
    ['  sandboxes: share of CFS periods throttled', '', periods ? round(throttled / periods, 3) : 0],
    ['  sandboxes: throttled ms per sandbox per second', '', throttledMsPerSandboxSecond],
    ['  mean wait for a CPU per wakeup (ms): the sandboxes\' shells', '', cpuWait('shells')],
    ["  … runc's console relays (2 hops of every echo)", '', cpuWait('relays')],
    ["  … lab-server's event loop thread", '', cpuWait('lab')],
  ]);
  console.log(
    "(the rest of the echo is loopback TCP both ways and each process's wait for a CPU on a busy box; lab-server's stages come from its /metrics histogram, so their percentiles are interpolated within buckets; percentiles of stages do not add up to the echo's)",
  );
}
printTable(
  'lab-server over time',
  ['minute', 'learners', 'sandboxes', 'RSS MiB', 'CPU %', 'loop delay p99 ms', 'generator CPU %', 'generator delay p99 ms (median / worst thread)'],
  rssSamples.map((s) => [s.minute, s.learnersActive, s.sandboxes, s.rssMiB, s.labCpuPercent, s.loopDelayP99Ms, s.clientCpuPercent, `${s.clientDelayP99Ms} / ${s.clientDelayWorstP99Ms}`]),
);
console.log(`LOAD_RESULT ${JSON.stringify({ learners: LEARNERS, minutes: Number(flags.minutes), loadAverage: loadavg(), dropped: stats.dropped, dropReasons: stats.dropReasons, generatorStalls, keystrokes: stats.keystrokes, commands: stats.commands, reconnects: stats.reconnects, echoMs: echo, commandMs: commands, timedCommandMs: timedCommands, reconnectMs: reconnects, rssPerSandboxMiB, rssGrowthPercent, rssMinuteGrowthPercent, breakdown, rss: rssSamples })}`);
await lab.stop();
if (MEMORY_LOG) printMemoryLog(MEMORY_LOG);
if (CPU_PROFILE) {
  const second = (at: number) => round((at - labStartedAt) / 1000, 0);
  console.log(`lab-server's CPU profile: ${CPU_PROFILE} (its steady state, as above: from about ${second(steadyFrom)} s to ${second(endAt)} s)`);
}
process.exit(stats.dropped > 0 ? 1 : 0);
