/**
 * Neighbour noise: a learner's keystroke echo while another sandbox on the same lab-server
 * fork-bombs or burns CPU, against the same learner's echo while the lab is quiet.
 *
 * Phases alternate (quiet, fork bomb, quiet, CPU burn, ...) so that drift on the machine lands in
 * every phase alike. The noisy sandbox is closed and reopened between phases (closing it is also
 * how a fork bomb ends). The goal is a noisy p99 within 1.5× the quiet p99: a figure, printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupHost } from '../lab-server/src/cgroups/host';
import { sandboxCgroupDirs } from '../lab-server/src/cgroups/sandbox-cgroup';
import { startLabProcess } from './support/lab-process';
import { emitResult, printTable, round, summarize } from './support/stats';
import { sleep } from '../lab-server/test/support/sleep';
import { isolabShell, measureEcho } from './support/terminal-clients';

const KEYSTROKES = Number(process.env.BENCH_NOISE_KEYSTROKES ?? 150);
const ROUNDS = Number(process.env.BENCH_NOISE_ROUNDS ?? 3);

const NOISE = {
  'fork bomb': "setsid bash -c ':(){ :|:& };:' >/dev/null 2>&1 &",
  // More CPU hogs than the host has cores; the sandbox's quota holds them to its share.
  'CPU burn': 'for i in 1 2 3 4; do (setsid sh -c "while :; do :; done" >/dev/null 2>&1 &); done',
} as const;
type Phase = 'quiet' | keyof typeof NOISE;

const lab = await startLabProcess();
// A failed run must not leave lab-server (and its sandboxes) behind.
process.on('uncaughtException', async (error) => {
  console.error(error);
  await lab.stop();
  process.exit(1);
});
process.on('unhandledRejection', async (error) => {
  console.error(error);
  await lab.stop();
  process.exit(1);
});
const learner = await lab.connect();
const noisy = await lab.connect();
const neighbour = await isolabShell(learner, 'neighbour');
// Warm up the path (JIT, caches) before anything counts.
await measureEcho(neighbour, 30);

const samples: Record<Phase, number[]> = { quiet: [], 'fork bomb': [], 'CPU burn': [] };
const bombPids: number[] = [];
const cgroupHost = detectCgroupHost();
function cgroupFile(sandboxId: string, file: string): string {
  const dir = sandboxCgroupDirs(cgroupHost, lab.name, sandboxId).dirs.find((d) => existsSync(join(d, file)));
  if (!dir) throw new Error(`no cgroup of ${sandboxId} has ${file}`);
  return join(dir, file);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const phase of ['quiet', 'fork bomb', 'quiet', 'CPU burn'] as Phase[]) {
    let noisySandbox: string | undefined;
    if (phase !== 'quiet') {
      const sandbox = await noisy.request('sandbox:open', { key: `noisy-${round}-${phase.replace(' ', '-').toLowerCase()}` });
      noisySandbox = sandbox.sandboxId;
      await noisy.request('check:run', { sandboxId: noisySandbox, command: NOISE[phase], timeoutMs: 5000 });
      await sleep(1500); // let the noise reach its steady state (pids.max, the CPU quota)
      // Read on the host: the noise is real (a bomb at pids.max, hogs using their whole quota).
      if (phase === 'fork bomb') bombPids.push(Number(readFileSync(cgroupFile(noisySandbox, 'pids.current'), 'utf8')));
    }
    samples[phase].push(...(await measureEcho(neighbour, KEYSTROKES)));
    if (noisySandbox) await noisy.request('sandbox:close', { sandboxId: noisySandbox });
  }
}

const quiet = summarize(samples.quiet);
const bomb = summarize(samples['fork bomb']);
const burn = summarize(samples['CPU burn']);
printTable(`Neighbour's keystroke echo (ms), ${ROUNDS} rounds of ${KEYSTROKES * 2} keystrokes per phase`, ['while the other sandbox is', 'p50', 'p95', 'p99', 'max', 'p99 / quiet p99'], [
  ['quiet', quiet.p50, quiet.p95, quiet.p99, quiet.max, 1],
  ['fork-bombing', bomb.p50, bomb.p95, bomb.p99, bomb.max, round(bomb.p99 / quiet.p99)],
  ['burning CPU', burn.p50, burn.p95, burn.p99, burn.max, round(burn.p99 / quiet.p99)],
]);
console.log(`noisy sandbox's pids during the bombs (host view): ${bombPids.join(', ')} (pids.max ${lab.env.ISOLAB_PIDS_LIMIT ?? 256})`);
console.log(`goal: p99 within 1.5× quiet; fork bomb ${round(bomb.p99 / quiet.p99)}×, CPU burn ${round(burn.p99 / quiet.p99)}×`);

emitResult({
  echoMs: { quiet, forkBomb: bomb, cpuBurn: burn },
  p99Ratio: { forkBomb: round(bomb.p99 / quiet.p99), cpuBurn: round(burn.p99 / quiet.p99) },
  goal: 1.5,
  bombPids,
});
neighbour.close();
learner.close();
noisy.close();
await lab.stop();
process.exit(0);
