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
 * Every learner connects from its own loopback address (127.0.0.x): lab-server caps connections
 * per address at 64, and a class is many addresses, not one.
 */
import { parseArgs } from 'node:util';
import { FLOW_CONTROL } from '../../protocol';
import { LabClient } from '../../lib/lab-client';
import { startLabProcess } from '../support/lab-process';
import { PROMPT } from '../support/terminal-clients';
import { TEST_ORIGIN as BENCH_ORIGIN } from '../../lab-server/test/support/test-lab';
import { printTable, round, summarize } from '../support/stats';
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

const stats = {
  echoMs: [] as number[],
  commandMs: [] as number[],
  reconnectMs: [] as number[],
  commands: 0,
  keystrokes: 0,
  reconnects: 0,
  dropped: 0,
  dropReasons: {} as Record<string, number>,
};
const rssSamples: Array<{ minute: number; rssMiB: number; sandboxes: number; learnersActive: number }> = [];

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

  type(data: string): void {
    this.client.send('terminal:input', { terminalId: this.terminalId, data });
  }

  next(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (pattern.test(this.tail)) return resolve();
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${pattern}`)), timeoutMs);
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
  const opened = await client.request('terminal:open', { sandboxId: sandbox.sandboxId, terminalId: terminal.terminalId, cols: 100, rows: 30 });
  terminal.push(opened.snapshot);
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
        const again = await client.request('terminal:open', { sandboxId: mine.sandboxId, terminalId: terminal.terminalId, cols: 100, rows: 30 });
        terminal.clear();
        terminal.push(again.snapshot);
        stats.reconnectMs.push(performance.now() - started);
        terminal.type('\r');
        await terminal.next(PROMPT, 20_000).catch(() => drop('no prompt after reconnect'));
        continue;
      }
      // Type a command key by key, timing each echo.
      const command = `${pick(COMMANDS)}; echo "DO""NE-${++commandNumber}"`;
      for (const key of command) {
        terminal.clear();
        const started = performance.now();
        terminal.type(key);
        const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        await terminal.next(new RegExp(`${escaped}\\s*$`), 15_000).catch(() => drop('echo timed out'));
        stats.echoMs.push(performance.now() - started);
        stats.keystrokes++;
        await sleep(random(60, 200));
      }
      terminal.clear();
      const started = performance.now();
      terminal.type('\r');
      await terminal.next(new RegExp(`DONE-${commandNumber}[\\s\\S]*# (\\x1b\\[\\?2004h)?$`), 60_000).catch(() => drop('command timed out'));
      stats.commandMs.push(performance.now() - started);
      stats.commands++;
      await sleep(random(2000, 8000)); // reading, thinking
    }
  } catch (error) {
    if (!(error instanceof Dropped)) {
      stats.dropped++;
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
let active = 0;
const sampler = setInterval(async () => {
  const health = (await (await fetch(`${lab.url}/healthz`)).json()) as { sandboxes: number };
  rssSamples.push({ minute: round((Date.now() - started) / 60_000, 1), rssMiB: round(lab.rss() / 2 ** 20, 1), sandboxes: health.sandboxes, learnersActive: active });
  const last = rssSamples.at(-1)!;
  console.log(`  t=${last.minute} min  learners=${active}  sandboxes=${last.sandboxes}  lab-server RSS=${last.rssMiB} MiB  keystrokes=${stats.keystrokes}  commands=${stats.commands}  dropped=${stats.dropped}`);
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
const reconnects = stats.reconnectMs.length ? summarize(stats.reconnectMs) : undefined;
printTable(`Load: ${LEARNERS} learners, ${flags.minutes} min`, ['', 'value'], [
  ['sessions dropped (goal 0)', stats.dropped],
  ['keystrokes typed', stats.keystrokes],
  ['commands run', stats.commands],
  ['reconnects', stats.reconnects],
  ['echo p50 / p95 / p99 / max (ms)', `${echo.p50} / ${echo.p95} / ${echo.p99} / ${echo.max}`],
  ['command round trip p50 / p99 (ms)', `${commands.p50} / ${commands.p99}`],
  ['reconnect p50 / p99 (ms)', reconnects ? `${reconnects.p50} / ${reconnects.p99}` : '-'],
  ['lab-server RSS at start / peak / end (MiB)', `${rssAtStart} / ${rssSamples.reduce((peak, s) => Math.max(peak, s.rssMiB), 0)} / ${round(lab.rss() / 2 ** 20, 1)}`],
]);
if (stats.dropped) console.log('drop reasons:', stats.dropReasons);
printTable('lab-server RSS over time', ['minute', 'learners', 'sandboxes', 'RSS MiB'], rssSamples.map((s) => [s.minute, s.learnersActive, s.sandboxes, s.rssMiB]));
console.log(`LOAD_RESULT ${JSON.stringify({ learners: LEARNERS, minutes: Number(flags.minutes), dropped: stats.dropped, dropReasons: stats.dropReasons, keystrokes: stats.keystrokes, commands: stats.commands, reconnects: stats.reconnects, echoMs: echo, commandMs: commands, reconnectMs: reconnects, rss: rssSamples })}`);
await lab.stop();
process.exit(stats.dropped > 0 ? 1 : 0);
