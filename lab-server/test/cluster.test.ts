/**
 * One class over three lab nodes on this machine: redis-server, three lab-servers and HAProxy in
 * front (bench/cluster/cluster.ts, as `npm run cluster` starts them). Learners connect through
 * the router only, as browsers do. README "More than one machine"; ../shared/SCALE-OUT.md.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabClient, LabRequestError } from '../../lib/lab-client';
import { loadLessons } from '../../lib/lessons/load-lessons';
import { startCluster, until, type LabCluster } from '../../bench/cluster/cluster';
import { checkOutput, openShell } from './support/shell';
import { TEST_ORIGIN } from './support/test-lab';

const INSTRUCTOR_TOKEN = 'cluster-test-instructor-Hq4vN8xT2mW6rB9kJ3pZ';
const CLASS_MAX_SANDBOXES = 12;

let cluster: LabCluster;
const clients: LabClient[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    env: {
      ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN,
      ISOLAB_MAX_SANDBOXES: '10',
      ISOLAB_CLASS_MAX_SANDBOXES: String(CLASS_MAX_SANDBOXES),
      // Twelve sandboxes start at once on two cores; a busy machine must not turn that into failures.
      ISOLAB_START_TIMEOUT_SECONDS: '120',
    },
  });
}, 300_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.stop();
}, 120_000);

/**
 * A learner's connection through the router, or straight to one node. A connection the router
 * or a node dropped before the handshake answered (a busy machine) is tried again, as the page's
 * backoff does; a refusal with a code is not.
 */
const learner = async (options: Parameters<LabCluster['connect']>[0] = {}, node?: string) => {
  for (let attempt = 0; ; attempt++) {
    try {
      const client = await (node ? LabClient.connect(cluster.node(node).url, { origin: TEST_ORIGIN, ...options }) : cluster.connect(options));
      clients.push(client);
      return client;
    } catch (error) {
      if (attempt >= 10 || !['DISCONNECTED', 'TIMEOUT'].includes((error as LabRequestError).code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
};
const nodeOf = (client: LabClient) => client.session!.node!;

/**
 * A new learner on each of `nodes`, connected straight to it. Where the router puts new learners
 * is the first test's subject; through it, a node that is slow to answer HAProxy's health check
 * on a busy machine would get nobody, and these tests need someone on every node.
 */
async function onePerNode(nodes: string[], displayName: string): Promise<Map<string, LabClient>> {
  const found = new Map<string, LabClient>();
  for (const node of nodes) {
    const client = await learner({ displayName: `${displayName}-${node}` }, node);
    expect(nodeOf(client)).toBe(node);
    found.set(node, client);
  }
  return found;
}

/** What a browser does after its node went away: connect again with its token and node until a node answers. */
async function comeBack(token: string, node: string): Promise<LabClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await learner({ token, node });
    } catch (error) {
      const code = (error as LabRequestError).code;
      if (attempt >= 60 || !['WRONG_NODE', 'DISCONNECTED', 'TIMEOUT', 'CLUSTER_UNAVAILABLE'].includes(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

describe('a class over three lab nodes', () => {
  it('spreads 30 new learners over the nodes, and a reconnect lands on the same node', async () => {
    const learners = await Promise.all(Array.from({ length: 30 }, (_, i) => learner({ displayName: `placed-${i}` })));
    const perNode = new Map<string, number>();
    for (const client of learners) perNode.set(nodeOf(client), (perNode.get(nodeOf(client)) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(['lab1', 'lab2', 'lab3']);
    for (const count of perNode.values()) expect(count).toBeLessThanOrEqual(12);

    // A reload: the token alone (no node), then with the node the page kept.
    for (const client of learners.slice(0, 6)) {
      const { token, sessionId } = client.session!;
      client.close();
      const back = await learner({ token });
      expect(back.session).toMatchObject({ sessionId, node: nodeOf(client), isNew: false });
      expect(back.session!.homeLost).toBeUndefined();
      back.close();
    }
    for (const client of learners) client.close();
  }, 120_000);

  it('a node that is not the session\'s home refuses it with WRONG_NODE, naming the home', async () => {
    const client = await learner();
    const home = nodeOf(client);
    const other = cluster.nodeIds.find((id) => id !== home)!;
    // Straight to the other node, without the router: it names the home every time.
    const direct = LabClient.connect(cluster.node(other).url, { origin: TEST_ORIGIN, token: client.session!.token });
    await expect(direct).rejects.toMatchObject({ code: 'WRONG_NODE' });
    client.close();
  });

  it(`admits exactly ${CLASS_MAX_SANDBOXES} of 20 sandboxes opened at once across the nodes, and closing the class closes every node`, async () => {
    const learners = await Promise.all(Array.from({ length: 20 }, (_, i) => learner({ displayName: `admitted-${i}` })));
    expect(new Set(learners.map(nodeOf)).size).toBe(3);
    const opened = await Promise.allSettled(learners.map((client) => client.request('sandbox:open', { key: 'uts' }, 180_000)));
    const refused = opened.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as LabRequestError);
    expect(refused.map((error) => error.code)).toEqual(Array(20 - CLASS_MAX_SANDBOXES).fill('LAB_FULL'));
    expect(refused[0].message).toBe(`The class is full: all ${CLASS_MAX_SANDBOXES} sandboxes of the class are in use. Try again in a few minutes.`);

    // Places come back when sandboxes close, on whichever node.
    const withSandbox = learners.filter((_, i) => opened[i].status === 'fulfilled');
    for (const [i, client] of withSandbox.entries()) {
      const sandbox = (opened[learners.indexOf(client)] as PromiseFulfilledResult<{ sandboxId: string }>).value;
      if (i < 3) await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });
    }
    const late = learners.filter((_, i) => opened[i].status === 'rejected').slice(0, 3);
    const reopened = await Promise.all(late.map((client) => client.request('sandbox:open', { key: 'uts' }, 180_000)));
    expect(reopened).toHaveLength(3);

    // The instructor's dashboard counts the sandboxes of every node, against the class's limit.
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const counted = async () => (await instructor.request('class:watch', {})).sandboxes;
    await until(async () => (await counted()).live === CLASS_MAX_SANDBOXES, 'the dashboard to count the sandboxes on every node');
    expect((await counted()).max).toBe(CLASS_MAX_SANDBOXES);

    // The instructor, on one node, closes the class: a learner on another node is refused.
    const elsewhere = [...(await onePerNode(cluster.nodeIds, 'elsewhere'))].find(([node]) => node !== nodeOf(instructor))![1];
    await instructor.request('class:set-open', { open: false });
    await expect(elsewhere.request('sandbox:open', { key: 'uts' })).rejects.toMatchObject({ code: 'LAB_CLOSED' });
    await instructor.request('class:set-open', { open: true });

    // End all, from that one node, ends sandboxes on every node.
    const { closed } = await instructor.request('class:end-all', {});
    expect(closed).toBe(CLASS_MAX_SANDBOXES);
    for (const client of [...learners, instructor, elsewhere]) client.close();
  }, 300_000);

  it("learners on the other nodes follow the instructor's broadcast: the screen so far on joining, then live output", async () => {
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const demo = await openShell(instructor, 'demo', { keepText: true });
    await demo.term.exec('echo before-the-class-$((2*3))');
    await instructor.request('class:broadcast', { terminalId: demo.term.terminalId });

    const followers = [...(await onePerNode(cluster.nodeIds, 'follower'))].filter(([node]) => node !== nodeOf(instructor)).map(([, client]) => client);
    expect(followers).toHaveLength(2);
    const seen = followers.map(() => '');
    const stopped = followers.map((follower) => new Promise<void>((resolve) => follower.on('class:broadcast-status', ({ active }) => active || resolve())));
    for (const [i, follower] of followers.entries()) {
      follower.on('terminal:output', ({ terminalId, data }) => terminalId === demo.term.terminalId && (seen[i] += data));
      // The follower's node copies the broadcast once its replica has the screen.
      let mirror: Awaited<ReturnType<typeof follower.request<'class:follow'>>> | undefined;
      await until(async () => (mirror = await follower.request('class:follow', {}).catch(() => undefined)) !== undefined, 'the broadcast to reach the follower\'s node');
      expect(mirror!.terminalId).toBe(demo.term.terminalId);
      expect(mirror!.snapshot).toContain('before-the-class-6');
    }
    await demo.term.exec('echo live-from-the-front-$((6*7))');
    for (const i of followers.keys()) await until(() => seen[i].includes('live-from-the-front-42'), 'the follower to see the instructor\'s output');

    await instructor.request('class:broadcast', { terminalId: null });
    await Promise.all(stopped);
    for (const follower of followers) await expect(follower.request('class:follow', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    for (const client of [instructor, ...followers]) client.close();
  }, 300_000);

  it('the instructor spotlights a learner on another node: the screen, live output even after a flood, the badge, and the end from either side', async () => {
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const learnerThere = [...(await onePerNode(cluster.nodeIds, 'spotlit'))].find(([node]) => node !== nodeOf(instructor))![1];
    const shell = await openShell(learnerThere, 'spotlit', { keepText: true });
    await shell.term.exec('echo stuck-on-step-$((3*3))');

    const badge = new Promise<boolean>((resolve) => learnerThere.on('class:spotlighted', ({ active }) => resolve(active)));
    const view = await instructor.request('class:spotlight', { sessionId: learnerThere.session!.sessionId });
    expect(view).toMatchObject({ sandboxId: shell.sandbox.sandboxId, terminalId: shell.term.terminalId });
    expect(view.snapshot).toContain('stuck-on-step-9');
    expect(await badge).toBe(true);
    let seen = '';
    // As the dashboard's mirror does: what arrives is acknowledged, so the instructor never lags.
    instructor.on('terminal:output', ({ terminalId, data }) => {
      if (terminalId !== view.terminalId) return;
      seen += data;
      instructor.send('terminal:ack', { terminalId, chars: data.length });
    });
    await shell.term.exec('echo typed-live-$((6*7))');
    await until(() => seen.includes('typed-live-42'), "the instructor to see the learner's output");

    // A flood larger than what one stream may put between nodes: the instructor's copy catches
    // up with the screen, and what the learner types next still arrives.
    await shell.term.exec('yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 3000000; echo flood-done-$((5+5))', 120_000);
    await until(() => seen.includes('flood-done-10'), "the instructor's copy to catch up after the flood");
    await shell.term.exec('echo after-the-flood-$((7*7))');
    await until(() => seen.includes('after-the-flood-49'), "the instructor to see output after the flood");
    // The learner's node says a spotlight is on: the dashboard shows it.
    await until(async () => (await instructor.request('class:watch', {})).learners.find((l) => l.sessionId === learnerThere.session!.sessionId)?.spotlighted === true, 'the dashboard to show the spotlight');

    // The instructor looks away: the learner's badge goes.
    const badgeOff = new Promise<boolean>((resolve) => learnerThere.on('class:spotlighted', ({ active }) => !active && resolve(active)));
    await instructor.request('class:spotlight-end', {});
    expect(await badgeOff).toBe(false);

    // Again, and this time the learner's sandbox closes: the instructor's spotlight ends with it.
    await instructor.request('class:spotlight', { sessionId: learnerThere.session!.sessionId });
    const ended = new Promise<boolean>((resolve) => learnerThere.on('class:spotlighted', ({ active }) => !active && resolve(active)));
    await learnerThere.request('sandbox:close', { sandboxId: shell.sandbox.sandboxId });
    expect(await ended).toBe(false);
    await expect(instructor.request('class:spotlight', { sessionId: learnerThere.session!.sessionId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    for (const client of [instructor, learnerThere]) client.close();
  }, 300_000);

  it("the dashboard glances at a learner's sandbox on another node, and the instructor resets that learner from their own node", async () => {
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const there = [...(await onePerNode(cluster.nodeIds, 'glanced'))].find(([node]) => node !== nodeOf(instructor))![1];
    const { sandbox } = await openShell(there, 'glanced');
    const listed = async () => (await instructor.request('class:watch', {})).learners.find((l) => l.sessionId === there.session!.sessionId);
    await until(async () => (await listed())?.sandbox?.sandboxId === sandbox.sandboxId, "the dashboard to glance at the learner's sandbox on its node");
    const glanced = (await listed())!;
    expect(glanced).toMatchObject({ node: nodeOf(there), connected: true });
    expect(glanced.sandbox!.memoryBytes).toBeGreaterThan(0);
    expect(glanced.sandbox!.pids).toBeGreaterThanOrEqual(1);

    expect(await instructor.request('class:reset-learner', { sessionId: there.session!.sessionId })).toEqual({ closed: 1 });
    expect(await there.request('sandbox:list', {})).toEqual([]);
    // They start again where they are.
    const fresh = await openShell(there, 'glanced');
    expect(await fresh.term.exec('echo again-$((4*4))')).toContain('again-16');
    for (const client of [instructor, there]) client.close();
  }, 300_000);

  it('a class code set on one node holds on every node, and ending the sessions that joined without it ends them on every node', async () => {
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const before = [...(await onePerNode(cluster.nodeIds, 'before-the-code'))];
    const direct = (node: string, options: { classCode?: string; token?: string } = {}) => LabClient.connect(cluster.node(node).url, { origin: TEST_ORIGIN, ...options });
    try {
      expect(await instructor.request('class:set-code', { code: 'kestrel-5' })).toEqual({ code: 'KESTREL5' });
      for (const node of cluster.nodeIds) {
        await expect(direct(node)).rejects.toMatchObject({ code: 'CLASS_CODE_REQUIRED' });
        const admitted = await direct(node, { classCode: 'Kestrel 5' });
        clients.push(admitted);
        expect(nodeOf(admitted)).toBe(node);
      }

      // Through the router, each learner is their own address (HAProxy's X-Forwarded-For, believed
      // from it only): one address guessing codes is throttled, the rest of the class is not.
      const guess = (from: string, i: number) =>
        cluster.connect({ localAddress: from, node: 'lab1', classCode: `guess-${i}` }).then(
          (client) => (client.close(), 'admitted'),
          (error: LabRequestError) => error.code,
        );
      const outcomes: string[] = [];
      for (let i = 0; i < 11; i++) outcomes.push(await guess('127.0.0.91', i));
      expect(outcomes).toEqual([...Array(10).fill('CLASS_CODE_REQUIRED'), 'TOO_MANY_ATTEMPTS']);
      expect(await guess('127.0.0.92', 0)).toBe('CLASS_CODE_REQUIRED');

      // The learners who joined before the code, on every node, are ended from the instructor's node.
      const { ended } = await instructor.request('class:end-old-code', {});
      expect(ended).toBeGreaterThanOrEqual(before.length);
      for (const [node, client] of before) {
        await until(() => !client.socket.connected, `the learner on ${node} who joined without the code to be disconnected`);
        // Their token is forgotten by every node, theirs included: coming back needs the code.
        for (const to of cluster.nodeIds) await expect(direct(to, { token: client.session!.token })).rejects.toMatchObject({ code: 'CLASS_CODE_REQUIRED' });
      }
    } finally {
      expect(await instructor.request('class:set-code', { code: null })).toEqual({ code: null });
    }
    // Removed on every node: anyone may join again.
    for (const node of cluster.nodeIds) (await direct(node)).close();
    instructor.close();
  }, 300_000);

  it("the instructor's export lists the passes recorded on every node, and clearing the class clears every node", async () => {
    const lesson = loadLessons().find((candidate) => candidate.steps.some((s) => s.check?.command.includes('/run/uts-keep')))!;
    const step = lesson.steps.find((s) => s.check?.command.includes('/run/uts-keep'))!;
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const passers = [...(await onePerNode(cluster.nodeIds, 'passer'))].filter(([node]) => node !== nodeOf(instructor)).map(([, client]) => client);
    for (const client of passers) {
      const { sandbox } = await openShell(client, lesson.slug);
      await checkOutput(client, sandbox.sandboxId, 'touch /run/uts-keep && unshare --uts=/run/uts-keep hostname kept-alive');
      expect((await client.request('progress:check', { sandboxId: sandbox.sandboxId, lessonSlug: lesson.slug, stepId: step.id })).passed).toBe(true);
    }
    const exported = await instructor.request('progress:passes', {});
    for (const client of passers) expect(exported).toContainEqual(expect.objectContaining({ sessionId: client.session!.sessionId, lessonSlug: lesson.slug, stepId: step.id }));

    const cleared = await instructor.request('progress:clear-class', {});
    expect(cleared.passes).toBeGreaterThanOrEqual(passers.length);
    expect(await instructor.request('progress:passes', {})).toEqual([]);
    // Each learner's own record is empty too, on their own node.
    for (const client of passers) expect((await client.request('progress:get', {})).passes).toEqual([]);
    for (const client of [instructor, ...passers]) client.close();
  }, 300_000);

  it('kill -9 of one node: its learners are told and start again elsewhere; the others keep typing; the roster survives its restart and Redis\'s', async () => {
    const lesson = loadLessons().find((candidate) => candidate.steps.some((s) => s.check?.command.includes('/run/uts-keep')))!;
    const step = lesson.steps.find((s) => s.check?.command.includes('/run/uts-keep'))!;
    const byNode = await onePerNode(['lab1', 'lab2', 'lab3'], 'typist');
    const staysAway = (await onePerNode(['lab2'], 'stays-away')).get('lab2')!.session!.sessionId;
    const shells = new Map<string, Awaited<ReturnType<typeof openShell>>>();
    for (const [node, client] of byNode) shells.set(node, await openShell(client, lesson.slug, { keepText: true }));

    // The learner on lab2 passes a step: lab2's class record keeps it.
    const doomed = byNode.get('lab2')!;
    const doomedSandbox = shells.get('lab2')!.sandbox.sandboxId;
    await checkOutput(doomed, doomedSandbox, 'touch /run/uts-keep && unshare --uts=/run/uts-keep hostname kept-alive');
    expect((await doomed.request('progress:check', { sandboxId: doomedSandbox, lessonSlug: lesson.slug, stepId: step.id })).passed).toBe(true);
    const { token, sessionId } = doomed.session!;

    // The learner chose a name: the node that takes them in later must know it.
    await doomed.request('class:rename', { displayName: 'Renamed Before The Crash' });
    const redis = new Redis(cluster.redisUrl);
    const sharedName = async () => {
      const [key] = await redis.smembers(`isolab:toks:${sessionId}`);
      return key ? (JSON.parse((await redis.get(key)) ?? '{}') as { displayName?: string }).displayName : undefined;
    };
    await until(async () => (await sharedName()) === 'Renamed Before The Crash', 'the new name to reach Redis');

    // lab2 has published its roster (every 2 s) with the learner who will stay away.
    const publishedByLab2 = async () => (JSON.parse((await redis.get('isolab:roster:lab2')) ?? '[]') as Array<{ sessionId: string }>).map((l) => l.sessionId);
    await until(async () => (await publishedByLab2()).includes(staysAway), 'lab2 to publish its roster with the learner who stays away');

    const drops: string[] = [];
    for (const node of ['lab1', 'lab3']) byNode.get(node)!.socket.on('disconnect', () => drops.push(node));
    await cluster.kill('lab2');

    const back = await comeBack(token, 'lab2');
    expect(back.session).toMatchObject({ sessionId, isNew: false, homeLost: true, displayName: 'Renamed Before The Crash' });
    expect(['lab1', 'lab3']).toContain(nodeOf(back));
    expect(await back.request('sandbox:list', {})).toEqual([]);
    // The pass recorded on lab2 is the learner's own on the node that took them in.
    expect((await back.request('progress:get', {})).passes).toContainEqual(expect.objectContaining({ lessonSlug: lesson.slug, stepId: step.id }));
    const fresh = await openShell(back, lesson.slug);
    expect(await fresh.term.exec('echo moved-$((40+2))')).toContain('moved-42');

    for (const node of ['lab1', 'lab3']) expect(await shells.get(node)!.term.exec(`echo still-${node}-$((1+1))`)).toContain(`still-${node}-2`);
    expect(drops).toEqual([]);
    // lab2's places in the class count are freed by a live node.
    await until(async () => (await redis.hget('isolab:count', 'lab2')) === null, "lab2's class places to be freed");
    // lab2's learners who do not come back stay on the dashboard, disconnected, where they were.
    const watching = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const awayListed = async () => (await watching.request('class:watch', {})).learners.find((l) => l.sessionId === staysAway);
    await until(async () => (await awayListed()) !== undefined, "lab2's learner who stays away to be listed");
    expect(await awayListed()).toMatchObject({ connected: false, node: 'lab2', sandbox: null });
    watching.close();

    // lab2 starts again: its record brings the learner's pass back to the dashboard.
    await cluster.restart('lab2');
    const instructor = await learner({ instructorToken: INSTRUCTOR_TOKEN });
    const listed = async () => (await instructor.request('class:watch', {})).learners.find((l) => l.sessionId === sessionId);
    await until(async () => (await listed())?.passed[lesson.slug]?.includes(step.id) === true, "the dashboard to show the pass lab2 recorded");
    expect(await listed()).toMatchObject({ connected: true, node: nodeOf(back) });

    // Redis stops: open terminals carry on, new connections get a clear refusal; then it comes back.
    await redis.quit();
    await cluster.restartRedis({
      whileDown: async () => {
        expect(await shells.get('lab1')!.term.exec('echo no-redis-$((2+2))')).toContain('no-redis-4');
        await expect(cluster.connect()).rejects.toMatchObject({ code: 'CLUSTER_UNAVAILABLE' });
      },
    });
    await until(async () => (await cluster.connect().then((client) => (client.close(), true), () => false)), 'new connections after Redis is back');
    await until(async () => (await listed())?.passed[lesson.slug]?.includes(step.id) === true, 'the dashboard to list the learner again after Redis restarted');
    expect(drops).toEqual([]);

    // The learner clears their record on the node that took them in: lab2, running again, still
    // held the pass it recorded first, and forgets it too (dashboard and export).
    await back.request('progress:forget-me', {});
    expect((await instructor.request('progress:passes', {})).filter((pass) => pass.sessionId === sessionId)).toEqual([]);
    await until(async () => Object.keys((await listed())?.passed ?? {}).length === 0, "the dashboard to drop the cleared learner's pass on every node");
  }, 300_000);
});
