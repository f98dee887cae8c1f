/**
 * `npm run bench -- cluster`: a class over three lab nodes behind HAProxy on this machine
 * (bench/cluster/cluster.ts). Measures a sandbox's open through the router against straight to a
 * node, how long one class event (`class:broadcast-status`, sent on one node) takes to reach
 * every one of IDLE idle learners spread over the nodes, and each node's memory with them.
 * ISOLAB_BENCH_IDLE sets the number of idle learners (1000).
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { LabClient } from '../lib/lab-client';
import { TEST_ORIGIN } from '../lab-server/test/support/test-lab';
import { startCluster } from './cluster/cluster';
import { connectIdleLearners, everyoneHears, learnersPerNode } from './cluster/idle-learners';
import { isolabShell } from './support/terminal-clients';
import { emitResult, printTable, round, summarize } from './support/stats';

const IDLE = Number(process.env.ISOLAB_BENCH_IDLE || 1000);
const OPENS = 8;
/** Keystrokes (each a letter and its erasure) for the instructor's own echo, without and with followers. */
const KEYSTROKES = 100;
const INSTRUCTOR_TOKEN = 'cluster-bench-instructor-Xy7pQ2mK9vR4tL8wN3bZ';

const cluster = await startCluster({
  env: {
    ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN,
    ISOLAB_LOG_LEVEL: 'warn',
    // The lab's own per-address limits: each idle learner connects from an address of its own
    // (127.0.0.2-254), which HAProxy forwards and the nodes believe from it only.
  },
});
const clients: LabClient[] = [];
try {
  // Opens, one at a time, each by a new learner, through the router and straight to lab1 in
  // turn (so a busier minute of the machine weighs on both alike), after one unmeasured open on
  // each node (its first sandbox mounts views the next ones reuse).
  const openOnce = async (connect: () => Promise<LabClient>) => {
    const client = await connect();
    const started = performance.now();
    const sandbox = await client.request('sandbox:open', { key: 'uts' }, 120_000);
    const ms = performance.now() - started;
    await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });
    client.close();
    return ms;
  };
  const throughRouter = () => cluster.connect();
  const toLab1 = () => LabClient.connect(cluster.node('lab1').url, { origin: TEST_ORIGIN });
  for (const id of cluster.nodeIds) await openOnce(() => LabClient.connect(cluster.node(id).url, { origin: TEST_ORIGIN }));
  const routerTimes: number[] = [];
  const directTimes: number[] = [];
  for (let i = 0; i < OPENS; i++) {
    routerTimes.push(await openOnce(throughRouter));
    directTimes.push(await openOnce(toLab1));
  }
  const viaRouter = summarize(routerTimes);
  const direct = summarize(directTimes);
  printTable('Sandbox open (ms), one at a time, no warm pool', ['path', 'n', 'p50', 'p95', 'max'], [
    ['through HAProxy', viaRouter.n, viaRouter.p50, viaRouter.p95, viaRouter.max],
    ['straight to lab1', direct.n, direct.p50, direct.p95, direct.max],
  ]);

  const rssBefore = Object.fromEntries(cluster.nodeIds.map((id) => [id, cluster.node(id).rss()]));
  clients.push(...(await connectIdleLearners(cluster.url, IDLE)));
  const perNode = learnersPerNode(clients);
  // Let the nodes settle (rosters published, garbage collected) before reading memory.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const rssAfter = Object.fromEntries(cluster.nodeIds.map((id) => [id, cluster.node(id).rss()]));

  // One class event from the instructor's node to every idle learner on all three nodes.
  const instructor = await cluster.connect({ instructorToken: INSTRUCTOR_TOKEN });
  const demo = await isolabShell(instructor, 'demo');
  // The instructor's own echo, from a process of its own (bench/cluster/echo-probe.ts), before
  // anyone follows and then with every idle learner following.
  const instructorEcho = async () => {
    const args = [cluster.url, instructor.session!.token, instructor.session!.node!, demo.sandboxId, demo.terminalId, String(KEYSTROKES)];
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/cluster/echo-probe.ts', ...args]);
    return summarize(JSON.parse(stdout.trim().split('\n').pop()!) as number[]);
  };
  const echoAlone = await instructorEcho();
  const { arrivals, all } = everyoneHears(clients, 'class:broadcast-status', { active: true });
  const sentAt = performance.now();
  await instructor.request('class:broadcast', { terminalId: demo.terminalId });
  await all;
  const reach = summarize(arrivals.map((arrivedAt) => arrivedAt - sentAt));
  const listed = (await instructor.request('class:watch', {})).learners.filter((learner) => learner.connected).length;

  // Every idle learner follows the broadcast (through their node's replica); the instructor types
  // a marker, and each follower's arrival time is taken from when the instructor sent it.
  const followed = new Map<LabClient, string>();
  const followLatencies: number[] = [];
  const marker = { expected: '', typedAt: 0, got: new Set<LabClient>(), done: () => undefined as void };
  for (const client of clients) {
    client.on('terminal:output', ({ terminalId, data }) => {
      if (terminalId !== demo.terminalId) return;
      const text = (followed.get(client) ?? '').slice(-200) + data;
      followed.set(client, text);
      if (!marker.expected || marker.got.has(client) || !text.includes(marker.expected)) return;
      marker.got.add(client);
      followLatencies.push(performance.now() - marker.typedAt);
      if (marker.got.size === clients.length) marker.done();
    });
  }
  for (let i = 0; i < clients.length; i += 50) {
    await Promise.all(
      clients.slice(i, i + 50).map(async (client) => {
        for (let attempt = 0; attempt < 100; attempt++) {
          if (await client.request('class:follow', {}).then(() => true, () => false)) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error('a learner could not follow the broadcast');
      }),
    );
  }
  for (let n = 1; n <= 5; n++) {
    const everyone = new Promise<void>((resolve) => (marker.done = resolve));
    marker.got.clear();
    marker.expected = `mark-${n}-${20 + n}`;
    marker.typedAt = performance.now();
    demo.type(`echo mark-${n}-$((20+${n}))\r`);
    await everyone;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const follow = summarize(followLatencies);
  const echoFollowed = await instructorEcho();
  printTable(`The instructor’s own keystroke echo (ms, from a process of its own, about 8 keys a second), ${echoAlone.n} keystrokes, before anyone follows and with ${clients.length} followers`, ['', 'p50', 'p95', 'p99', 'max'], [
    ['no followers', echoAlone.p50, echoAlone.p95, echoAlone.p99, echoAlone.max],
    [`${clients.length} followers`, echoFollowed.p50, echoFollowed.p95, echoFollowed.p99, echoFollowed.max],
    ['ratio', round(echoFollowed.p50 / echoAlone.p50), round(echoFollowed.p95 / echoAlone.p95), round(echoFollowed.p99 / echoAlone.p99), ''],
  ]);
  printTable(`The instructor's typing seen by ${clients.length} followers over three nodes (ms from the keystroke to the marker on screen, 5 markers)`, ['samples', 'p50', 'p99', 'max'], [[follow.n, follow.p50, follow.p99, follow.max]]);

  // RSS moves with garbage collection by more than a few hundred idle sockets cost: both are shown, no per-learner figure.
  printTable(`${IDLE} idle learners through HAProxy`, ['node', 'learners', 'RSS before (MB)', 'RSS with them (MB)'], cluster.nodeIds.map((id) => [id, perNode.get(id) ?? 0, round(rssBefore[id] / 2 ** 20, 1), round(rssAfter[id] / 2 ** 20, 1)]));
  printTable('One class event (broadcast-status) to every idle learner, ms after the instructor asked', ['learners', 'p50', 'p99', 'last'], [[reach.n, reach.p50, reach.p99, reach.max]]);
  console.log(`\nThe dashboard (on the instructor's node) lists ${listed} connected learners.`);

  emitResult({
    openMs: { viaRouter, direct },
    idle: { learners: IDLE, perNode: Object.fromEntries(perNode), rssMB: Object.fromEntries(cluster.nodeIds.map((id) => [id, { before: round(rssBefore[id] / 2 ** 20, 1), after: round(rssAfter[id] / 2 ** 20, 1) }])) },
    classEventMs: reach,
    followerMarkerMs: follow,
    instructorEchoMs: { alone: echoAlone, followed: echoFollowed },
    dashboardConnected: listed,
  });
  instructor.close();
} finally {
  for (const client of clients) client.close();
  await cluster.stop();
}
process.exit(0);
