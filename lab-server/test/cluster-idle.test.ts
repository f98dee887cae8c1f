/**
 * A thousand idle learners over three lab nodes (redis-server, three lab-servers and HAProxy,
 * as in cluster.test.ts, on ports of their own): all connected, one class event from the
 * instructor's node reaches every one of them, and the dashboard lists every one. A correctness
 * test: its waits are generous and only waits; how fast is `npm run bench -- cluster`'s question.
 *
 * The learners are held by a child process (bench/cluster/idle-learners-process.ts, the
 * benchmark's client code), each from an address of its own in 127.0.0.2-254 through the router,
 * with the lab's default per-address limits: HAProxy forwards each address and the nodes believe
 * it from the router only (ISOLAB_TRUSTED_PROXIES).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClassState } from '../../protocol';
import type { LabClient, LabRequestError } from '../../lib/lab-client';
import { startCluster, type LabCluster } from '../../bench/cluster/cluster';
import { idleLearnersProcess, type IdleLearners } from '../../bench/cluster/idle-learners';
import { openShell } from './support/shell';
import { bound } from './support/slowdown';

const LEARNERS = 1000;
const INSTRUCTOR_TOKEN = 'cluster-idle-instructor-Rt5wK2nQ8vX3mB7pL9cZ';
/** How long an event may take to reach everyone, or the dashboard to list everyone, before the test says who is missing. */
const SETTLE_MS = bound(120_000);

let cluster: LabCluster;
let idle: IdleLearners;
const clients: LabClient[] = [];

beforeAll(async () => {
  // Free ports for everything (redis, the nodes, the router): beside cluster.test.ts and `npm run cluster`.
  cluster = await startCluster({ env: { ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN, ISOLAB_LOG_LEVEL: 'warn' } });
  idle = idleLearnersProcess();
}, bound(300_000));

afterAll(async () => {
  for (const client of clients) client.close();
  await idle?.stop();
  await cluster?.stop();
}, bound(120_000));

/** The instructor's page, through the router; a connection dropped before its answer (a busy machine) is tried again. */
async function instructor(): Promise<LabClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      const client = await cluster.connect({ instructorToken: INSTRUCTOR_TOKEN, timeoutMs: 60_000 });
      clients.push(client);
      return client;
    } catch (error) {
      if (attempt >= 10 || !['DISCONNECTED', 'TIMEOUT'].includes((error as LabRequestError).code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

it(`${LEARNERS} idle learners over three nodes: all connected, one class event reaches every one, the dashboard lists them all`, async () => {
  const learners = await idle.connect(cluster.url, LEARNERS);
  expect(new Set(learners.map((learner) => learner.sessionId)).size).toBe(LEARNERS);
  const perNode = new Map<string, number>();
  for (const { node } of learners) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  // Spread over the three nodes (the router picks the node with the fewest connections).
  expect([...perNode.keys()].sort()).toEqual(cluster.nodeIds);
  for (const count of perNode.values()) expect(count).toBeGreaterThanOrEqual(LEARNERS / 6);
  expect(await idle.connected()).toBe(LEARNERS);

  // The instructor, on one node, starts a broadcast: every learner on every node is told.
  const teacher = await instructor();
  const demo = await openShell(teacher, 'demo');
  await idle.arm('class:broadcast-status', { active: true });
  await teacher.request('class:broadcast', { terminalId: demo.term.terminalId });
  expect(await idle.heard(SETTLE_MS)).toEqual({ heard: LEARNERS, of: LEARNERS });
  // And its end.
  await idle.arm('class:broadcast-status', { active: false });
  await teacher.request('class:broadcast', { terminalId: null });
  expect(await idle.heard(SETTLE_MS)).toEqual({ heard: LEARNERS, of: LEARNERS });

  // The dashboard (class:watch, then its pushes) lists every learner, connected, on the node that holds them.
  const nodeOf = new Map(learners.map((learner) => [learner.sessionId, learner.node]));
  const listed = (state: ClassState) => state.learners.filter((learner) => learner.connected && nodeOf.get(learner.sessionId) === learner.node).length;
  let latest = 0;
  const all = new Promise<void>((resolve) => {
    teacher.on('class:state', (state) => (latest = listed(state)) === LEARNERS && resolve());
  });
  const first = await teacher.request('class:watch', {});
  latest = Math.max(latest, listed(first));
  if (latest < LEARNERS) await Promise.race([all, new Promise((resolve) => setTimeout(resolve, SETTLE_MS))]);
  expect(latest).toBe(LEARNERS);
  const state = await teacher.request('class:watch', {});
  expect(state.learners).toHaveLength(LEARNERS);
  expect(listed(state)).toBe(LEARNERS);

  // Nobody was dropped on the way.
  expect(await idle.connected()).toBe(LEARNERS);
}, bound(600_000));
