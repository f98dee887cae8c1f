/**
 * One thread of `npm run load`'s simulated class: a few learners, each with its own socket.io
 * connection, on this thread's own event loop (load-test.ts starts one thread per
 * --learners-per-thread learners). A class is a hundred browsers on a hundred machines; on one
 * thread a learner's echo waited for the other 99 learners' events to be handled first, which
 * the lab did not cause. The thread reports its counters when asked (`sample`) and its figures
 * when its learners are done.
 *
 * What a learner does is unchanged from the single-threaded script, so figures stay comparable:
 * it opens a sandbox, types commands at a human pace (every keystroke's echo is timed), runs them
 * and reads their output, pauses to think, and now and then drops its connection and comes back
 * with its session token, as a reloaded tab does.
 */
import { setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { FLOW_CONTROL, type Result } from '../../protocol';
import { LabClient } from '../../lib/lab-client';
import { sleep } from '../../lab-server/test/support/sleep';
import { LOOP_MONITOR_RESOLUTION_MS } from '../support/lab-probe';
import { COMMANDS, TIMED_COMMAND, type ThreadData, type ThreadProgress, type ThreadStart, type ThreadStats } from './class-plan';

const random = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

/** The end of a bash prompt (bench/support/terminal-clients.ts's PROMPT), tested on the tail only. */
const PROMPT_END = /# (\x1b\[\?2004h)?$/;
/** What a learner keeps of its output: enough for a prompt or a marker split across messages. */
const TAIL_CHARS = 256;

/**
 * A learner's view of its terminal: acks like the web client and waits for text, and nothing
 * more (no screen parsing: the figures are the lab's, so the generator stays cheap). It keeps a
 * short tail and, for a command, whether the command's end marker has shown up since it ran.
 */
class LearnerTerminal {
  private tail = '';
  private unacked = 0;
  private marker: string | undefined;
  private markerSeen = false;
  private waiter: { done: () => boolean; resolve: () => void } | undefined;
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
    const joined = this.tail + data;
    if (this.marker && !this.markerSeen && joined.includes(this.marker)) this.markerSeen = true;
    this.tail = joined.length > TAIL_CHARS ? joined.slice(-TAIL_CHARS) : joined;
    if (this.waiter?.done()) {
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
    this.marker = undefined;
    this.markerSeen = false;
  }

  /** The answer to `terminal:open`: the screen replaces what was there. */
  readonly onOpened = (result: Result<{ snapshot: string }>): void => {
    this.clear();
    if (result.ok) this.push(result.value.snapshot);
  };

  type(data: string): void {
    this.client.send('terminal:input', { terminalId: this.terminalId, data });
  }

  /** The output since clear() ends with `text` (and perhaps whitespace): a keystroke's echo. */
  echo(text: string, timeoutMs: number): Promise<void> {
    return this.until(() => {
      const at = this.tail.lastIndexOf(text);
      return at >= 0 && this.tail.slice(at + text.length).trim() === '';
    }, `echo of ${JSON.stringify(text)}`, timeoutMs);
  }

  prompt(timeoutMs: number): Promise<void> {
    return this.until(() => PROMPT_END.test(this.tail), 'a prompt', timeoutMs);
  }

  /** `marker` came after clear() and a prompt ends the output: the command is done. */
  commandDone(marker: string, timeoutMs: number): Promise<void> {
    this.marker = marker;
    this.markerSeen = this.tail.includes(marker);
    return this.until(() => this.markerSeen && PROMPT_END.test(this.tail), `${marker} and a prompt`, timeoutMs);
  }

  private until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timeout waiting for ${what}; the screen ended with ${JSON.stringify(this.tail.slice(-160))}`));
      }, timeoutMs);
      this.waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}

class Dropped extends Error {}

const data = workerData as ThreadData;
// On Linux a thread has its own niceness, and 0 names the calling thread.
if (data.nice) setPriority(0, data.nice);
parentPort!.postMessage({ type: 'ready' });
const timing = await new Promise<ThreadStart>((resolve) => parentPort!.once('message', resolve));
const stats: ThreadStats = { echoMs: [], steadyEchoMs: [], commandMs: [], timedCommandMs: [], reconnectMs: [], commands: 0, keystrokes: 0, reconnects: 0, dropped: 0, dropReasons: {}, dropTimes: [] };
const countDrop = (reason: string) => {
  stats.dropped++;
  stats.dropReasons[reason] = (stats.dropReasons[reason] ?? 0) + 1;
  stats.dropTimes.push(Date.now());
};
let active = 0;

async function learner(index: number): Promise<void> {
  const localAddress = `127.0.${1 + Math.floor(index / 250)}.${2 + (index % 250)}`;
  const connect = (token?: string) => LabClient.connect(data.labUrl, { origin: data.origin, localAddress, token, timeoutMs: 20_000 });
  let client = await connect();
  let expectingClose = false;
  let closedUnasked: string | undefined;
  const watchClose = (c: LabClient) => c.on('sandbox:closed', (event) => !expectingClose && (closedUnasked = event.reason));
  watchClose(client);
  const sandbox = await client.request('sandbox:open', { key: 'lesson' });
  const terminal = new LearnerTerminal(client, sandbox.terminals[0].terminalId);
  // The screen goes in where the answer is read, before output read with it (see LabClient.request).
  await client.request('terminal:open', { sandboxId: sandbox.sandboxId, terminalId: terminal.terminalId, cols: 100, rows: 30 }, undefined, terminal.onOpened);
  await terminal.prompt(20_000);
  let commandNumber = 0;
  const drop = (reason: string): never => {
    countDrop(reason);
    throw new Dropped(reason);
  };

  try {
    while (Date.now() < timing.endAt) {
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
        await terminal.prompt(20_000).catch(() => drop('no prompt after reconnect'));
        continue;
      }
      // Type a command key by key, timing each echo.
      const picked = pick(COMMANDS);
      const command = `${picked}; echo "DO""NE-${++commandNumber}"`;
      for (const key of command) {
        terminal.clear();
        const started = performance.now();
        terminal.type(key);
        await terminal.echo(key, 15_000).catch(() => drop('echo timed out'));
        const echoMs = performance.now() - started;
        stats.echoMs.push(echoMs);
        if (Date.now() > timing.steadyFrom) stats.steadyEchoMs.push(echoMs);
        stats.keystrokes++;
        await sleep(random(60, 200));
      }
      terminal.clear();
      const started = performance.now();
      terminal.type('\r');
      await terminal.commandDone(`DONE-${commandNumber}`, 60_000).catch(() => drop('command timed out'));
      (picked.startsWith(TIMED_COMMAND) ? stats.timedCommandMs : stats.commandMs).push(performance.now() - started);
      stats.commands++;
      await sleep(random(2000, 8000)); // reading, thinking
    }
  } catch (error) {
    if (!(error instanceof Dropped)) {
      console.log(`  learner ${index}: ${(error as Error).message}`);
      countDrop(`error: ${(error as Error).message.slice(0, 60)}`);
    }
  } finally {
    expectingClose = true;
    await client.request('sandbox:close', { sandboxId: sandbox.sandboxId }).catch(() => undefined);
    client.close();
  }
}

const loopDelay = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
loopDelay.enable();
parentPort!.on('message', (message: { type: 'sample' }) => {
  if (message.type !== 'sample') return;
  // Node's histogram counts the monitor's own 10 ms tick in; the delay is what is beyond it.
  const beyondTick = (ns: number) => Math.max(0, ns / 1e6 - LOOP_MONITOR_RESOLUTION_MS);
  const progress: ThreadProgress = {
    type: 'progress',
    active,
    keystrokes: stats.keystrokes,
    commands: stats.commands,
    dropped: stats.dropped,
    loopDelayP99Ms: beyondTick(loopDelay.percentile(99)),
    loopDelayMaxMs: beyondTick(loopDelay.max),
  };
  loopDelay.reset();
  parentPort!.postMessage(progress);
});

await Promise.all(
  data.learners.map(async (index) => {
    await sleep(Math.max(0, timing.startedAt + (data.rampMs * index) / data.classSize - Date.now()));
    active++;
    try {
      await learner(index);
    } catch (error) {
      console.log(`  learner ${index}: start failed: ${(error as Error).message}`);
      countDrop(`start failed: ${(error as Error).message.slice(0, 60)}`);
    } finally {
      active--;
    }
  }),
);
parentPort!.postMessage({ type: 'done', stats });
