/**
 * Latency guard: a neighbour's keystroke echo and /healthz while one sandbox does its
 * worst to lab-server's own thread, against the same neighbour while the lab is quiet.
 *
 * The attacker, at the largest terminal the protocol allows, floods its screen mirror with
 * `ESC # 8` (DECALN, which fills every cell of the screen for 3 bytes) and scroll-ups of 999
 * lines, while the observatory watches a sandbox full of mount namespaces with long mount paths.
 * Quiet and attack phases alternate so that drift on the (shared, noisy) machine lands in both.
 * Goals: the neighbour's echo p99 within 2× quiet, /healthz within 200 ms. Printed, not asserted.
 */
import { TERMINAL_LIMITS } from '../protocol';
import { startLabProcess } from './support/lab-process';
import { emitResult, printTable, round, summarize } from './support/stats';
import { sleep } from '../lab-server/test/support/sleep';
import { isolabShell, isolabTerminal, measureEcho, PROMPT, type BenchTerminal } from './support/terminal-clients';

const KEYSTROKES = Number(process.env.BENCH_STALL_KEYSTROKES ?? 100);
const ROUNDS = Number(process.env.BENCH_STALL_ROUNDS ?? 2);
/** An echo slower than this is counted as this (before the stall guard, the outside review saw 2-8 s). */
const ECHO_CAP_MS = 15_000;

/** Typed into the attacker's terminal: screen-wide work for a few bytes, forever. */
const MIRROR_FLOOD = "while :; do printf '\\e#8\\e[999S%.0s' {1..500}; done\r";
/**
 * Run as a check: 150 tmpfs mounts at ~3,800-character paths, then 120 processes that each
 * copy them into a mount namespace of their own: about 70 MB of mountinfo per observatory scan.
 */
const MOUNT_BOMB = [
  "L=$(printf 'd%.0s' {1..250}); P=/tmp; for k in $(seq 15); do P=$P/$L; done; mkdir -p $P",
  `setsid unshare -m --propagation private bash -c "for i in \\$(seq 150); do mkdir -p $P/\\$i && mount -t tmpfs -o size=4k t $P/\\$i; done; for j in \\$(seq 120); do unshare -m sleep 3600 & done; sleep 3600" >/dev/null 2>&1 &`,
  'sleep 3',
].join('\n');

const lab = await startLabProcess();
const fail = async (error: unknown) => {
  console.error(error);
  await lab.stop();
  process.exit(1);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const learner = await lab.connect();
const attackerClient = await lab.connect();
let neighbourDisconnects = 0;
learner.socket.on('disconnect', () => neighbourDisconnects++);
/** Without reconnection, a dropped neighbour stays dropped: the run ends there, with that figure. */
const neighbourLost = () => neighbourDisconnects > 0;
const neighbour = await isolabShell(learner, 'neighbour');
await measureEcho(neighbour, 30, { capMs: ECHO_CAP_MS, stop: neighbourLost }); // warm-up

const healthUrl = `${lab.url}/healthz`;
const samples = { quiet: [] as number[], attack: [] as number[] };
const health = { quiet: [] as number[], attack: [] as number[] };
let attacksRefused = 0;
for (let r = 0; r < ROUNDS && !neighbourLost(); r++) {
  for (const phase of ['quiet', 'attack'] as const) {
    if (neighbourLost()) break;
    let attackerSandbox: string | undefined;
    let attackerTerminal: BenchTerminal | undefined;
    if (phase === 'attack') {
      const sandbox = await attackerClient.request('sandbox:open', { key: `attacker-${r}` });
      attackerSandbox = sandbox.sandboxId;
      await attackerClient.request('observe:subscribe', { sandboxId: attackerSandbox, views: ['meters', 'hostView', 'nsMap'] });
      await attackerClient.request('check:run', { sandboxId: attackerSandbox, command: MOUNT_BOMB, timeoutMs: 30_000 }, 60_000).catch(() => attacksRefused++);
      attackerTerminal = await isolabTerminal(attackerClient, attackerSandbox, sandbox.terminals[0].terminalId, { cols: TERMINAL_LIMITS.maxCols, rows: TERMINAL_LIMITS.maxRows });
      await attackerTerminal.next(PROMPT, 60_000);
      attackerTerminal.type(MIRROR_FLOOD);
      await sleep(2000);
    }
    const stopProbe = probeHealth(healthUrl, health[phase]);
    const times = await measureEcho(neighbour, KEYSTROKES, { capMs: ECHO_CAP_MS, stop: neighbourLost });
    samples[phase].push(...times);
    stopProbe();
    const phaseHealth = summarize(health[phase]);
    console.error(`round ${r + 1} ${phase}: echo p99 ${summarize(times).p99} ms (${times.length}), /healthz max ${phaseHealth.max} ms${neighbourLost() ? ', neighbour DISCONNECTED' : ''}`);
    if (attackerSandbox) {
      attackerTerminal?.close();
      await attackerClient.request('sandbox:close', { sandboxId: attackerSandbox }, 120_000).catch(() => {});
    }
  }
}
// Asked on a new connection of the same session, since the first one may have been dropped.
const neighbourAlive = await lab
  .connect({ token: learner.session!.token, timeoutMs: 60_000 })
  .then((again) => again.request('sandbox:list', {}, 60_000))
  .then((list) => list.some((s) => s.sandboxId === neighbour.sandboxId))
  .catch(() => false);

const quiet = summarize(samples.quiet);
const attack = summarize(samples.attack);
const healthQuiet = summarize(health.quiet);
const healthAttack = summarize(health.attack);
printTable(`Neighbour's keystroke echo and /healthz (ms), ${ROUNDS} rounds of ${KEYSTROKES * 2} keystrokes per phase`, ['while the other sandbox is', 'echo p50', 'echo p99', 'echo max', 'p99 / quiet p99', '/healthz p99', '/healthz max'], [
  ['quiet', quiet.p50, quiet.p99, quiet.max, 1, healthQuiet.p99, healthQuiet.max],
  ['flooding its mirror + mount bomb', attack.p50, attack.p99, attack.max, round(attack.p99 / quiet.p99), healthAttack.p99, healthAttack.max],
]);
console.log(`neighbour disconnected ${neighbourDisconnects} times; its sandbox ${neighbourAlive ? 'survived' : 'was reaped (or lab-server did not answer)'}`);
console.log(`goal: echo p99 within 2× quiet (${round(attack.p99 / quiet.p99)}×), /healthz under 200 ms (max ${healthAttack.max} ms)`);

emitResult({
  echoMs: { quiet, attack },
  p99Ratio: round(attack.p99 / quiet.p99),
  healthzMs: { quiet: healthQuiet, attack: healthAttack },
  neighbourDisconnects,
  neighbourSandboxSurvived: neighbourAlive,
  goal: { p99Ratio: 2, healthzMs: 200 },
});
neighbour.close();
learner.close();
attackerClient.close();
await lab.stop();
process.exit(0);

/** Asks /healthz every 100 ms (one request at a time) until stopped; times each answer. */
function probeHealth(url: string, into: number[]): () => void {
  let running = true;
  void (async () => {
    while (running) {
      const started = performance.now();
      await fetch(url, { signal: AbortSignal.timeout(ECHO_CAP_MS) }).then(
        (response) => response.text(),
        () => undefined,
      );
      into.push(performance.now() - started);
      await sleep(100);
    }
  })();
  return () => (running = false);
}
