/**
 * `npm run load`: simulated learners against one real lab-server (a child process with its own
 * state directory and cgroup parent). Not part of CI.
 *
 *   npm run load -- --learners 100 --minutes 10 [--ramp-seconds 60] [--sample-seconds 15]
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
 * lab-server's event loop delay and CPU; the sandboxes' CPU throttling (their cpu.stat); and this
 * process's own event loop delay, since a hundred simulated learners share one thread here.
 *
 * Every learner connects from its own loopback address (127.0.0.x): lab-server caps connections
 * per address at 64, and a class is many addresses, not one.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FLOW_CONTROL, type Result } from '../../protocol';
import { LabClient } from '../../lib/lab-client';
import { startLabProcess } from '../support/lab-process';
import { PROMPT } from '../support/terminal-clients';
import { TEST_ORIGIN as BENCH_ORIGIN } from '../../lab-server/test/support/test-lab';
import { printTable, round, summarize } from '../support/stats';
import { bucketDelta, bucketQuantileMs, cpuSeconds, labProcesses, LOOP_MONITOR_RESOLUTION_MS, labThrottling, meanSchedWaitMs, schedStats, scrapeMetrics, type MetricsSample, type SchedStats, type Throttling } from '../support/lab-probe';
import { sleep } from '../../lab-server/test/support/sleep';

const { values: flags } = parseArgs({
  options: {
    learners: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '10' },
    'ramp-seconds': { type: 'string', default: '60' },
    'sample-seconds': { type: 'string', default: '15' },
  },
});
const LEARNERS = Number(flags.learners);
const DURATION_MS = Number(flags.minutes) * 60_000;
const RAMP_MS = Number(flags['ramp-seconds']) * 1000;
const SAMPLE_MS = Number(flags['sample-seconds']) * 1000;

/** What learners type: commands with a little or a lot of output, like the lessons'. */
const COMMANDS = [
  'ls -la /usr/bin | head -40',
  'ps aux',
  'seq 1 300',
  'cat /etc/os-release',
  'ip addr',
  'unshare -Urpf --mount-proc ps aux',
  'hostname; id',
  'cat /proc/self/cgroup',
  'ls /proc/self/ns -l',
  'free -m; uptime',
  'mkdir -p /tmp/w && cd /tmp/w && touch a b c && ls -l; cd',
  'stress-ng --cpu 1 -t 2 -q; echo burned',
];
const random = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

/** Takes 2 s of CPU on purpose, so its round trip is reported apart from the others'. */
const TIMED_COMMAND = 'stress-ng';

const stats = {
  echoMs: [] as number[],
  /** Echoes after the ramp, the window the breakdown covers. */
  steadyEchoMs: [] as number[],
  commandMs: [] as number[],
  timedCommandMs: [] as number[],
  reconnectMs: [] as number[],
  commands: 0,
  keystrokes: 0,
  reconnects: 0,
  dropped: 0,
  dropReasons: {} as Record<string, number>,
};
const rssSamples: Array<{ minute: number; rssMiB: number; sandboxes: number; learnersActive: number; loopDelayP99Ms: number; labCpuPercent: number; clientDelayP99Ms: number }> = [];

const lab = await startLabProcess({ ISOLAB_MAX_SANDBOXES: String(LEARNERS + 10), ISOLAB_LOG_LEVEL: 'warn', ISOLAB_IDLE_SECONDS: '3600' });
let stopping = false;
for (const event of ['uncaughtException', 'unhandledRejection', 'SIGINT'] as const) {
  process.on(event, async (error) => {
    console.error(error);
    await lab.stop();
    process.exit(1);
  });
}

/** A learner's view of its terminal: output tail, acks like the web client, and waiting for text. */
class LearnerTerminal {
  private tail = '';
  private unacked = 0;
  private waiter: { pattern: RegExp; resolve: () => void } | undefined;
  private off: (() => void) | undefined;

  constructor(
    private client: LabClient,
    readonly terminalId: string,
  ) {
    this.listen();
  }

  rebind(client: LabClient): void {
    this.off?.();
    this.client = client;
    this.unacked = 0;
    this.listen();
  }

  push(data: string): void {
    this.tail = (this.tail + data).slice(-4096);
    if (this.waiter?.pattern.test(this.tail)) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  private listen(): void {
    this.off = this.client.on('terminal:output', ({ terminalId, data }) => {
      if (terminalId !== this.terminalId) return;
      this.push(data);
      this.unacked += data.length;
      if (this.unacked >= FLOW_CONTROL.ackEveryChars) {
        this.client.send('terminal:ack', { terminalId, chars: this.unacked });
        this.unacked = 0;
      }
    });
  }

  clear(): void {
    this.tail = '';
  }

  /** The answer to `terminal:open`: the screen replaces what was there. */
  readonly onOpened = (result: Result<{ snapshot: string }>): void => {
    this.clear();
    if (result.ok) this.push(result.value.snapshot);
  };

  type(data: string): void {
    this.client.send('terminal:input', { terminalId: this.terminalId, data });
  }

  next(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (pattern.test(this.tail)) return resolve();
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${pattern}; the screen ended with ${JSON.stringify(this.tail.slice(-160))}`)), timeoutMs);
      this.waiter = {
        pattern,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}

class Dropped extends Error {}

async function learner(index: number, endAt: number): Promise<void> {
  const localAddress = `127.0.${1 + Math.floor(index / 250)}.${2 + (index % 250)}`;
  const connect = (token?: string) => LabClient.connect(lab.url, { origin: BENCH_ORIGIN, localAddress, token, timeoutMs: 20_000 });
  let client = await connect();
  let expectingClose = false;
  let closedUnasked: string | undefined;
  const watchClose = (c: LabClient) => c.on('sandbox:closed', (event) => !expectingClose && (closedUnasked = event.reason));
  watchClose(client);
  const sandbox = await client.request('sandbox:open', { key: 'lesson' });
  const terminal = new LearnerTerminal(client, sandbox.terminals[0].terminalId);
  // The screen goes in where the answer is read, before output read with it (see LabClient.request).
  await client.request('terminal:open', { sandboxId: sandbox.sandboxId, terminalId: terminal.terminalId, cols: 100, rows: 30 }, undefined, terminal.onOpened);
  await terminal.next(PROMPT, 20_000);
  let commandNumber = 0;
  const drop = (reason: string) => {
    stats.dropped++;
    stats.dropReasons[reason] = (stats.dropReasons[reason] ?? 0) + 1;
    throw new Dropped(reason);
  };

  try {
    while (Date.now() < endAt && !stopping) {
      if (closedUnasked) drop(`sandbox closed: ${closedUnasked}`);
      if (Math.random() < 0.04) {
        // Reload the tab: drop the connection, come back with the token, attach and get the screen.
        stats.reconnects++;
        const token = client.session!.token;
        client.close();
        await sleep(random(500, 3000));
        const started = performance.now();
        client = await connect(token).catch(() => drop('reconnect refused'));
        watchClose(client);
        const [mine] = await client.request('sandbox:list', {});
        if (!mine) drop('sandbox gone after reconnect');
        terminal.rebind(client);
        await client.request('terminal:open', { sandboxId: mine.sandboxId, terminalId: terminal.terminalId, cols: 100, rows: 30 }, undefined, terminal.onOpened);
        stats.reconnectMs.push(performance.now() - started);
        terminal.type('\r');
        await terminal.next(PROMPT, 20_000).catch(() => drop('no prompt after reconnect'));
        continue;
      }
      // Type a command key by key, timing each echo.
      const picked = pick(COMMANDS);
      const command = `${picked}; echo "DO""NE-${++commandNumber}"`;
      for (const key of command) {
        terminal.clear();
        const started = performance.now();
        terminal.type(key);
        const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        await terminal.next(new RegExp(`${escaped}\\s*$`), 15_000).catch(() => drop('echo timed out'));
        const echoMs = performance.now() - started;
        stats.echoMs.push(echoMs);
        if (Date.now() > steadyFrom) stats.steadyEchoMs.push(echoMs);
        stats.keystrokes++;
        await sleep(random(60, 200));
      }
      terminal.clear();
      const started = performance.now();
      terminal.type('\r');
      await terminal.next(new RegExp(`DONE-${commandNumber}[\\s\\S]*# (\\x1b\\[\\?2004h)?$`), 60_000).catch(() => drop('command timed out'));
      (picked.startsWith(TIMED_COMMAND) ? stats.timedCommandMs : stats.commandMs).push(performance.now() - started);
      stats.commands++;
      await sleep(random(2000, 8000)); // reading, thinking
    }
  } catch (error) {
    if (!(error instanceof Dropped)) {
      stats.dropped++;
      console.log(`  learner ${index}: ${(error as Error).message}`);
      const reason = `error: ${(error as Error).message.slice(0, 60)}`;
      stats.dropReasons[reason] = (stats.dropReasons[reason] ?? 0) + 1;
    }
  } finally {
    expectingClose = true;
    await client.request('sandbox:close', { sandboxId: sandbox.sandboxId }).catch(() => undefined);
    client.close();
  }
}

const started = Date.now();
const endAt = started + DURATION_MS;
/** The breakdown covers from here (every learner has started) to the end. */
const steadyFrom = started + RAMP_MS;
let active = 0;
const clientDelay = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
clientDelay.enable();
let previous = { at: performance.now(), cpu: cpuSeconds(lab.pid) };
type Probe = { metrics: MetricsSample; throttling: Throttling; sched: Record<'shells' | 'relays' | 'lab', SchedStats>; at: number };
let steadyStart: Probe | undefined;
/** The last sample while the learners' sandboxes were all there (their cgroups take their counters when they close). */
let steadyEnd: Probe | undefined;
const sampler = setInterval(async () => {
  const health = (await (await fetch(`${lab.url}/healthz`)).json()) as { sandboxes: number };
  const metrics = await scrapeMetrics(lab.url);
  const now = { at: performance.now(), cpu: cpuSeconds(lab.pid) };
  const labCpuPercent = round((100 * (now.cpu - previous.cpu)) / ((now.at - previous.at) / 1000), 0);
  previous = now;
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
    learnersActive: active,
    loopDelayP99Ms: round(metrics.loopDelayP99Ms, 0),
    labCpuPercent,
    clientDelayP99Ms: round(Math.max(0, clientDelay.percentile(99) / 1e6 - LOOP_MONITOR_RESOLUTION_MS), 0),
  });
  clientDelay.reset();
  const last = rssSamples.at(-1)!;
  console.log(
    `  t=${last.minute} min  learners=${active}  sandboxes=${last.sandboxes}  lab-server RSS=${last.rssMiB} MiB, CPU ${labCpuPercent}%, loop delay p99 ${last.loopDelayP99Ms} ms  keystrokes=${stats.keystrokes}  commands=${stats.commands}  dropped=${stats.dropped}  load ${loadavg()[0].toFixed(1)}`,
  );
}, SAMPLE_MS);

console.log(`Load: ${LEARNERS} learners for ${flags.minutes} min (ramp ${RAMP_MS / 1000} s) against ${lab.url}, lab-server pid ${lab.pid}`);
const rssAtStart = round(lab.rss() / 2 ** 20, 1);
const runs = Array.from({ length: LEARNERS }, async (_, i) => {
  await sleep((RAMP_MS * i) / LEARNERS);
  active++;
  try {
    await learner(i, endAt);
  } catch (error) {
    stats.dropped++;
    console.log(`  learner ${i}: start failed: ${(error as Error).message}`);
    const reason = `start failed: ${(error as Error).message.slice(0, 60)}`;
    stats.dropReasons[reason] = (stats.dropReasons[reason] ?? 0) + 1;
  } finally {
    active--;
  }
});
await Promise.all(runs);
stopping = true;
clearInterval(sampler);

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
const rssGrowthPercent = growthFrom && growthTo && growthTo !== growthFrom ? round((100 * (growthTo.rssMiB - growthFrom.rssMiB)) / growthFrom.rssMiB, 1) : undefined;
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
]);
if (stats.dropped) console.log('drop reasons:', stats.dropReasons);

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
  const maxOf = (key: 'loopDelayP99Ms' | 'clientDelayP99Ms' | 'labCpuPercent') => steady.reduce((m, s) => Math.max(m, s[key]), 0);
  const medianOf = (key: 'loopDelayP99Ms' | 'clientDelayP99Ms' | 'labCpuPercent') => (steady.length ? [...steady].sort((a, b) => a[key] - b[key])[Math.floor(steady.length / 2)][key] : NaN);
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
    clientLoopDelayP99Ms: { median: medianOf('clientDelayP99Ms'), max: maxOf('clientDelayP99Ms') },
    sandboxThrottling: { periodsThrottled: periods ? round(throttled / periods, 3) : 0, throttledMsPerSandboxSecond },
    meanCpuWaitMs: { sandboxShells: cpuWait('shells'), runcRelays: cpuWait('relays'), labServerLoop: cpuWait('lab') },
  };
  printTable(`Where a keystroke waits, from minute ${round(RAMP_MS / 60_000, 1)} to the end (load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')})`, ['', 'p50', 'p99 (or per-window p99: median / max)'], [
    ['echo, as the learners measure it', steadyEcho.p50, steadyEcho.p99],
    ['  in lab-server: input → shell output read back (pty, runc relay, shell, sandbox CPU)', shell.p50, shell.p99],
    ['  in lab-server: that output → socket (batching, event loop)', send.p50, send.p99],
    ['  lab-server event loop delay (ms)', '', `${medianOf('loopDelayP99Ms')} / ${maxOf('loopDelayP99Ms')}`],
    ['  lab-server CPU (% of one core)', '', `${medianOf('labCpuPercent')} / ${maxOf('labCpuPercent')}`],
    ['  this load generator\'s event loop delay (ms)', '', `${medianOf('clientDelayP99Ms')} / ${maxOf('clientDelayP99Ms')}`],
    ['  sandboxes: share of CFS periods throttled', '', periods ? round(throttled / periods, 3) : 0],
    ['  sandboxes: throttled ms per sandbox per second', '', throttledMsPerSandboxSecond],
    ['  mean wait for a CPU per wakeup (ms): the sandboxes\' shells', '', cpuWait('shells')],
    ["  … runc's console relays (2 hops of every echo)", '', cpuWait('relays')],
    ["  … lab-server's event loop thread", '', cpuWait('lab')],
  ]);
  console.log('(the rest of the echo is the socket both ways and the wait for each process to get a CPU on a busy box; lab-server figures come from its /metrics histogram, so their percentiles are interpolated within buckets)');
}
printTable('lab-server over time', ['minute', 'learners', 'sandboxes', 'RSS MiB', 'CPU %', 'loop delay p99 ms', 'load generator delay p99 ms'], rssSamples.map((s) => [s.minute, s.learnersActive, s.sandboxes, s.rssMiB, s.labCpuPercent, s.loopDelayP99Ms, s.clientDelayP99Ms]));
console.log(`LOAD_RESULT ${JSON.stringify({ learners: LEARNERS, minutes: Number(flags.minutes), loadAverage: loadavg(), dropped: stats.dropped, dropReasons: stats.dropReasons, keystrokes: stats.keystrokes, commands: stats.commands, reconnects: stats.reconnects, echoMs: echo, commandMs: commands, timedCommandMs: timedCommands, reconnectMs: reconnects, rssPerSandboxMiB, rssGrowthPercent, breakdown, rss: rssSamples })}`);
await lab.stop();
process.exit(stats.dropped > 0 ? 1 : 0);
