/**
 * Isolab side by side with wetty, in one run.
 *
 * wetty 3 (npm) serves an unsandboxed bash over the same stack: node-pty and socket.io. Isolab's
 * shell runs in a runc sandbox (user namespace, cgroups with 0.5 CPU, seccomp), one more pty hop
 * away (runc relays its console). Both servers run side by side for the whole benchmark, and the
 * measurements alternate between them round by round, so that the machine's drift lands on both.
 *
 * Fairness:
 * - Both are driven by the same client code (support/terminal-clients.ts), over websockets from
 *   this process; neither client renders into xterm.js, and each acknowledges output as soon as it
 *   arrives, Isolab every 16k chars (its web client's setting) and wetty with a 256 KiB `commit`
 *   (its web client's setting). Each server keeps its own flow-control marks.
 * - Both shells are bash 5.2 on Debian bookworm: wetty's is started with --noprofile --norc, and
 *   Isolab's is the sandbox's login shell, whose profile only prints a welcome line.
 * - Both log at "warn". wetty runs as root with `--command`, so it spawns bash directly instead of
 *   login(1); Isolab runs with its default limits.
 * - Memory per live terminal: N terminals are opened on each, and the growth of the server
 *   process's RSS is divided by N; so is the PSS of everything else the terminals started (for
 *   wetty: env and bash; for Isolab: runc and the sandbox's processes). Kernel memory (page
 *   tables, the sandbox's namespaces and cgroups) is not in either figure.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { freePort, startLabProcess } from './support/lab-process';
import { emitResult, printTable, round, summarize } from './support/stats';
import { sleep } from '../lab-server/test/support/sleep';
import { isolabShell, measureEcho, measureThroughput, wettyTerminal, type BenchTerminal } from './support/terminal-clients';

const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 6);
/** Isolab's CPU limit per sandbox; the default is the product's (0.5). */
const ISOLAB_CPUS = process.env.BENCH_PEER_ISOLAB_CPUS;
const KEYSTROKES = Number(process.env.BENCH_PEER_KEYSTROKES ?? 100);
const FLOOD_BYTES = Number(process.env.BENCH_PEER_FLOOD_BYTES ?? 50_000_000);
const TERMINALS = Number(process.env.BENCH_PEER_TERMINALS ?? 30);

// ---- the two servers ------------------------------------------------------------------------
const lab = await startLabProcess(ISOLAB_CPUS ? { ISOLAB_CPU_LIMIT: ISOLAB_CPUS } : {});
const wettyPort = await freePort();
const wetty = spawn(process.execPath, ['node_modules/wetty/build/main.js', '--host', '127.0.0.1', '--port', String(wettyPort), '--command', 'bash --noprofile --norc', '--log-level', 'warn'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const wettyUrl = `http://127.0.0.1:${wettyPort}`;
// A failed run must not leave lab-server (and its sandboxes) or wetty behind.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, async (error) => {
    console.error(error);
    wetty.kill('SIGTERM');
    await lab.stop();
    process.exit(1);
  });
}
for (let attempt = 0; ; attempt++) {
  try {
    if ((await fetch(wettyUrl)).status < 500) break;
  } catch {
    // Not listening yet.
  }
  if (attempt > 100) throw new Error('wetty did not start in 10 s');
  await sleep(100);
}
const wettyVersion = (JSON.parse(readFileSync('node_modules/wetty/package.json', 'utf8')) as { version: string }).version;

const rssOf = (pid: number) => {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};
/** Proportional set size: a process's private pages plus its share of the pages it shares. */
const pssOf = (pid: number) => {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};
/** Every descendant of `pid` (children of children...). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone.
    }
  }
  const found: number[] = [];
  const visit = (p: number) => {
    for (const child of children.get(p) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

const labClient = await lab.connect();
const isolab = await isolabShell(labClient, 'peer-echo');
const peer = await wettyTerminal(wettyUrl);
await measureEcho(isolab, 20);
await measureEcho(peer, 20);

// ---- echo and throughput, alternating -------------------------------------------------------
const echo: Record<'isolab' | 'wetty', number[]> = { isolab: [], wetty: [] };
const throughput: Record<'isolab' | 'wetty', number[]> = { isolab: [], wetty: [] };
const orderOf = (round: number): Array<['isolab' | 'wetty', BenchTerminal]> =>
  round % 2 === 0 ? [['isolab', isolab], ['wetty', peer]] : [['wetty', peer], ['isolab', isolab]];
// Echo first, then floods: right after a flood lab-server's screen mirror is still catching up,
// which is a scenario of its own, not typing latency.
for (let round = 0; round < ROUNDS; round++) for (const [name, terminal] of orderOf(round)) echo[name].push(...(await measureEcho(terminal, KEYSTROKES)));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, terminal] of orderOf(round)) {
    throughput[name].push(await measureThroughput(terminal, FLOOD_BYTES));
    await sleep(2000);
  }
}
const echoIsolab = summarize(echo.isolab);
const echoWetty = summarize(echo.wetty);
const mbps = (values: number[]) => round(values.reduce((a, b) => a + b, 0) / values.length, 1);
printTable(`Keystroke echo (ms), ${echo.isolab.length} keystrokes each, alternating in ${ROUNDS} rounds`, ['', 'p50', 'p95', 'p99', 'max'], [
  ['Isolab (sandboxed bash)', echoIsolab.p50, echoIsolab.p95, echoIsolab.p99, echoIsolab.max],
  [`wetty ${wettyVersion} (host bash)`, echoWetty.p50, echoWetty.p95, echoWetty.p99, echoWetty.max],
  ['ratio Isolab / wetty', round(echoIsolab.p50 / echoWetty.p50), round(echoIsolab.p95 / echoWetty.p95), round(echoIsolab.p99 / echoWetty.p99), ''],
]);
printTable(`Output throughput with flow control (MB/s), ${FLOOD_BYTES / 1e6} MB of \`yes\` per run, ${ROUNDS} runs each`, ['', 'mean', 'min', 'max'], [
  ['Isolab', mbps(throughput.isolab), round(Math.min(...throughput.isolab), 1), round(Math.max(...throughput.isolab), 1)],
  ['wetty', mbps(throughput.wetty), round(Math.min(...throughput.wetty), 1), round(Math.max(...throughput.wetty), 1)],
  ['ratio Isolab / wetty', round(mbps(throughput.isolab) / mbps(throughput.wetty)), '', ''],
]);

// ---- memory per live terminal ---------------------------------------------------------------
isolab.close();
peer.close();
await labClient.request('sandbox:close', { sandboxId: isolab.sandboxId });
await sleep(2000);
/** Median of a few samples, so that one garbage collection does not decide the figure. */
const settled = async (measure: () => number) => {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(measure());
    await sleep(400);
  }
  return samples.sort((a, b) => a - b)[2];
};
const pssOfTree = (pid: number) => descendants(pid).reduce((sum, child) => sum + pssOf(child), 0);
const isolabBefore = { server: await settled(() => lab.rss()), others: pssOfTree(lab.pid) };
const wettyBefore = { server: await settled(() => rssOf(wetty.pid!)), others: pssOfTree(wetty.pid!) };
const isolabTerminals: Array<BenchTerminal & { sandboxId: string }> = [];
const wettyTerminals: BenchTerminal[] = [];
for (let i = 0; i < TERMINALS; i++) {
  isolabTerminals.push(await isolabShell(labClient, `peer-mem-${i}`));
  wettyTerminals.push(await wettyTerminal(wettyUrl));
}
await sleep(3000);
// Everything a terminal starts descends from its server: for Isolab, `runc run` and, under it,
// the sandbox's processes; for wetty, env and bash. PSS shares the pages they have in common
// (bash's code, runc's) fairly among them.
const isolabAfter = { server: await settled(() => lab.rss()), others: pssOfTree(lab.pid) };
const wettyAfter = { server: await settled(() => rssOf(wetty.pid!)), others: pssOfTree(wetty.pid!) };
const perTerminal = (after: number, before: number) => round((after - before) / TERMINALS / 2 ** 20, 2);
const memory = {
  isolab: { serverMiB: perTerminal(isolabAfter.server, isolabBefore.server), restMiB: perTerminal(isolabAfter.others, isolabBefore.others) },
  wetty: { serverMiB: perTerminal(wettyAfter.server, wettyBefore.server), restMiB: perTerminal(wettyAfter.others, wettyBefore.others) },
};
const total = (m: { serverMiB: number; restMiB: number }) => round(m.serverMiB + m.restMiB, 2);
printTable(`Memory per live terminal (MiB), ${TERMINALS} terminals each (server: RSS growth / N; the rest: PSS / N)`, ['', 'server process', 'shell and helpers', 'total'], [
  ['Isolab', memory.isolab.serverMiB, memory.isolab.restMiB, total(memory.isolab)],
  ['wetty', memory.wetty.serverMiB, memory.wetty.restMiB, total(memory.wetty)],
  ['ratio Isolab / wetty', '', round(memory.isolab.restMiB / memory.wetty.restMiB), round(total(memory.isolab) / total(memory.wetty))],
]);
console.log('(a server growth near zero or below it is within garbage-collection noise)');

const ratios = {
  echoP50: round(echoIsolab.p50 / echoWetty.p50),
  echoP99: round(echoIsolab.p99 / echoWetty.p99),
  throughput: round(mbps(throughput.isolab) / mbps(throughput.wetty)),
  memoryTotal: round(total(memory.isolab) / total(memory.wetty)),
};
console.log(`\nIsolab / wetty: echo p99 ${ratios.echoP99}× (goal ≤ 1.0), throughput ${ratios.throughput}× (goal ≥ 1.0), memory per terminal ${ratios.memoryTotal}× in all`);
emitResult({
  wettyVersion,
  isolabCpus: Number(ISOLAB_CPUS ?? lab.env.ISOLAB_CPU_LIMIT ?? 0.5),
  echoMs: { isolab: echoIsolab, wetty: echoWetty },
  throughputMBps: { isolab: mbps(throughput.isolab), wetty: mbps(throughput.wetty) },
  memoryPerTerminalMiB: memory,
  ratios,
  goals: { echoP99: '≤ 1.0', throughput: '≥ 1.0' },
});

for (const terminal of [...isolabTerminals, ...wettyTerminals]) terminal.close();
labClient.close();
wetty.kill('SIGTERM');
await lab.stop();
process.exit(0);
