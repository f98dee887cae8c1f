/**
 * lab-server's core figures, measured against a real lab-server child process:
 *
 * - spawn → first prompt through the socket.io protocol (sandbox:open + terminal:open + the
 *   prompt on screen), p50/p95 over ≥ 30 sandboxes, interleaved with a bare `runc run` of the
 *   same config.json on a pty with nothing around it, and the ratio of the two;
 * - keystroke echo round trip, p50/p99;
 * - output throughput of a 1 GB flood (`yes | head -c 1G`) to a client that acks like a fast
 *   browser, and lab-server's RSS growth during it.
 *
 * Targets: spawn p50 ≤ 100 ms and ≤ 1.25× bare runc; RSS growth ≤ 50 MB during the flood.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { loadConfig } from '../lab-server/src/config';
import { detectCgroupHost } from '../lab-server/src/cgroups/host';
import { prepareSandboxCgroup, removeCgroupTree, sandboxCgroupDirs } from '../lab-server/src/cgroups/sandbox-cgroup';
import { preflight } from '../lab-server/src/preflight';
import { rootfsPath } from '../lab-server/src/rootfs/stamp';
import { sandboxLimits } from '../lab-server/src/runtime/oci-spec';
import { Runc } from '../lab-server/src/runtime/runc';
import { writeBundle } from '../lab-server/src/runtime/bundle';
import { removeLabFootprint } from '../lab-server/src/sandbox/recovery';
import { startLabProcess } from './support/lab-process';
import { emitResult, printTable, round, summarize } from './support/stats';
import { isolabShell, isolabTerminal, KEYSTROKE_INTERVAL_MS, measureEcho, measureThroughput, PROMPT } from './support/terminal-clients';

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 40);
const KEYSTROKES = Number(process.env.BENCH_KEYSTROKES ?? 400);
const FLOOD_BYTES = Number(process.env.BENCH_FLOOD_BYTES ?? 1_000_000_000);

const lab = await startLabProcess();
const client = await lab.connect();

async function labSpawn(i: number): Promise<number> {
  const started = performance.now();
  const sandbox = await client.request('sandbox:open', { key: `spawn-${i}` });
  const terminal = await isolabTerminal(client, sandbox.sandboxId, sandbox.terminals[0].terminalId, { cols: 80, rows: 24 });
  await terminal.next(PROMPT);
  const elapsed = performance.now() - started;
  terminal.close();
  await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });
  return elapsed;
}

// The same config.json, started by runc on a pty (as the lab does) with nothing else around it.
const config = loadConfig({ ...process.env, ...lab.env, ISOLAB_CGROUP_PARENT: `${lab.name}-bare` });
const { facts } = preflight(config);
const cgroupHost = detectCgroupHost();
const bareRoot = `/run/${lab.name}-bare`;
const bare = new Runc(facts.runcPath ?? 'runc', join(bareRoot, 'runc'));

async function bareSpawn(i: number): Promise<number> {
  const id = `bare-${String(i).padStart(4, '0')}`;
  const bundle = join(bareRoot, 'bundles', id);
  const cgroup = sandboxCgroupDirs(cgroupHost, config.cgroupParent, id);
  const started = performance.now();
  writeBundle(bundle, {
    sandboxId: id,
    hostname: id,
    rootfsPath: rootfsPath(config.dataDir),
    uidBase: config.uidBase,
    cgroupsPath: cgroup.cgroupsPath,
    cgroupMode: cgroupHost.mode,
    swapAccounting: facts.swapAccounting,
    limits: sandboxLimits(config),
  });
  prepareSandboxCgroup(cgroupHost, config.cgroupParent, cgroup, config.uidBase);
  const pty = bare.run(id, bundle, { cols: 80, rows: 24 });
  let text = '';
  await new Promise<void>((resolve) => {
    const subscription = pty.onData((data) => {
      text += data;
      if (PROMPT.test(text)) {
        subscription.dispose();
        resolve();
      }
    });
  });
  const elapsed = performance.now() - started;
  await bare.destroy(id);
  pty.kill();
  for (const dir of cgroup.dirs) await removeCgroupTree(dir);
  rmSync(bundle, { recursive: true, force: true });
  return elapsed;
}

// ---- spawn ----------------------------------------------------------------------------------
for (let i = 0; i < 3; i++) {
  await labSpawn(1000 + i);
  await bareSpawn(1000 + i);
}
const labTimes: number[] = [];
const bareTimes: number[] = [];
for (let i = 0; i < SPAWNS; i++) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  if (i % 2 === 0) {
    labTimes.push(await labSpawn(i));
    bareTimes.push(await bareSpawn(i));
  } else {
    bareTimes.push(await bareSpawn(i));
    labTimes.push(await labSpawn(i));
  }
}
await removeLabFootprint({ stateDir: bareRoot, cgroupParent: config.cgroupParent, runcPath: facts.runcPath ?? 'runc', cgroupHost });
const spawnLab = summarize(labTimes);
const spawnBare = summarize(bareTimes);
const spawnRatio = round(spawnLab.p50 / spawnBare.p50);
printTable(`Spawn → first prompt (ms), ${SPAWNS} sandboxes each`, ['path', 'p50', 'p95', 'min', 'max'], [
  ['Isolab (socket.io protocol)', spawnLab.p50, spawnLab.p95, spawnLab.min, spawnLab.max],
  ['bare runc run (on a pty)', spawnBare.p50, spawnBare.p95, spawnBare.min, spawnBare.max],
  ['ratio Isolab / bare (p50)', spawnRatio, round(spawnLab.p95 / spawnBare.p95), '', ''],
]);

// ---- echo -----------------------------------------------------------------------------------
const echoTerminal = await isolabShell(client, 'echo');
const echoTimes = await measureEcho(echoTerminal, KEYSTROKES);
const echo = summarize(echoTimes);
printTable(`Keystroke echo round trip (ms), ${echoTimes.length} keystrokes, ${KEYSTROKE_INTERVAL_MS} ms apart`, ['', 'p50', 'p95', 'p99', 'max'], [
  ['Isolab', echo.p50, echo.p95, echo.p99, echo.max],
]);

// ---- throughput and RSS --------------------------------------------------------------------
const rssBefore = lab.rss();
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, lab.rss())), 50);
const floodStart = echoTerminal.chars;
const started = performance.now();
const throughput = round(await measureThroughput(echoTerminal, FLOOD_BYTES), 1);
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const floodChars = echoTerminal.chars - floodStart;
const rssGrowthMB = round((rssPeak - rssBefore) / 1024 / 1024, 1);
printTable(`Output flood: ${FLOOD_BYTES / 1e9} GB of "yes" to an acking client`, ['', 'value'], [
  ['chars received (incl. \\r added for each line)', floodChars],
  ['seconds', round(seconds, 2)],
  ['throughput MB/s', throughput],
  ['lab-server RSS before (MB)', round(rssBefore / 1024 / 1024, 1)],
  ['lab-server RSS peak (MB)', round(rssPeak / 1024 / 1024, 1)],
  ['RSS growth during flood (MB)', rssGrowthMB],
]);

const targets = {
  spawnP50Under100ms: spawnLab.p50 <= 100,
  spawnWithin125xBare: spawnRatio <= 1.25,
  rssGrowthUnder50MB: rssGrowthMB <= 50,
};
console.log(`\nTargets: ${Object.entries(targets).map(([name, met]) => `${met ? '✓' : '✗'} ${name}`).join('   ')}`);

emitResult({
  spawnMs: { isolab: spawnLab, bareRunc: spawnBare, ratioP50: spawnRatio },
  echoMs: echo,
  flood: { bytes: FLOOD_BYTES, charsReceived: floodChars, seconds: round(seconds, 2), throughputMBps: throughput },
  rssMB: { before: round(rssBefore / 1024 / 1024, 1), peak: round(rssPeak / 1024 / 1024, 1), growth: rssGrowthMB },
  targets,
});

client.close();
await lab.stop();
