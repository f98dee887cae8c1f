/**
 * A class over several lab nodes on one machine: redis-server, N lab-servers (each its own
 * process, port, state directory and cgroup parent) and HAProxy in front with a generated
 * config. Used by `npm run cluster` (scripts/cluster.ts), lab-server/test/cluster.test.ts and
 * the cluster benchmark. See README "More than one machine".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabClient, type ConnectOptions } from '../../lib/lab-client';
import { freePort, labChildEnv, removeLabChildFootprint, startLabChild, type LabChild } from '../../lab-server/test/support/lab-child';
import { TEST_ORIGIN } from '../../lab-server/test/support/test-lab';

/** Three lab-servers starting at once (tsx compiles each) on a busy 2-core machine take a while. */
const READY_TIMEOUT_MS = 180_000;

export interface ClusterOptions {
  nodes?: number;
  /** Ports: the router's, then one per node (fixed for `npm run cluster`, free ones otherwise). */
  routerPort?: number;
  nodePorts?: number[];
  redisPort?: number;
  /** Every node's environment on top of the harness's (limits, the instructor token…). */
  env?: Record<string, string>;
  /** A node's own environment, e.g. its state directory (`npm run cluster` names them). */
  nodeEnv?: (index: number) => Record<string, string>;
}

export interface LabCluster {
  /** The router: every learner connects here. */
  readonly url: string;
  readonly redisUrl: string;
  /** lab1, lab2, … as the router's `server` lines and ISOLAB_NODE_ID name them. */
  readonly nodeIds: string[];
  node(id: string): LabChild;
  /** Connects through the router, as a browser does (WRONG_NODE is followed by LabClient). */
  connect(options?: ConnectOptions): Promise<LabClient>;
  /** SIGKILL: no clean shutdown, its lease expires on its own. */
  kill(id: string): Promise<void>;
  /** Starts the node again with the same environment (a new boot). */
  restart(id: string): Promise<LabChild>;
  /** Stops redis-server (its AOF is kept), runs `whileDown`, and starts it again. */
  restartRedis(options?: { whileDown?: () => Promise<void> }): Promise<void>;
  routerConfig: string;
  stop(): Promise<void>;
}

/** A router config for `nodes` lab nodes: they, never sessions, are listed; a session names its node in `?node=`. */
export function haproxyConfig(bind: string, nodes: Array<{ id: string; address: string }>, statsSocket?: string): string {
  return [
    'global',
    '    maxconn 4000',
    // Read by routerSeesEveryNode: which nodes the health checks have let in.
    ...(statsSocket ? [`    stats socket ${statsSocket} mode 600 level user`] : []),
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    // A websocket is quiet between pings (10 s): the tunnel timeout keeps it open.
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout tunnel 1h',
    // lab-server believes X-Forwarded-For from this router only (ISOLAB_TRUSTED_PROXIES).
    '    option forwardfor',
    // A hinted node that is down: try again, elsewhere; the node reached takes the session over.
    '    option redispatch',
    '    retries 2',
    'frontend lab',
    `    bind ${bind}`,
    '    default_backend labs',
    'backend labs',
    '    balance leastconn',
    // 503 while a node starts or stops: the router sends nobody new there.
    '    option httpchk GET /healthz',
    // A stopped node refuses connections, which a check sees at once; a node only busy gets 5 s to answer.
    '    timeout check 5s',
    '    default-server inter 1s fall 3 rise 2',
    // A node named by the client that is not up is ignored, and leastconn picks one.
    '    use-server %[urlp(node)] if { urlp(node) -m found }',
    ...nodes.map(({ id, address }) => `    server ${id} ${address} check`),
    '',
  ].join('\n');
}

export async function startCluster(options: ClusterOptions = {}): Promise<LabCluster> {
  const count = options.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'isolab-cluster-'));
  const redisPort = options.redisPort ?? (await freePort());
  const routerPort = options.routerPort ?? (await freePort());
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const children: ChildProcess[] = [];
  // If the test or script dies first, its redis-server and haproxy must not live on.
  const killChildren = () => children.forEach((child) => child.kill('SIGTERM'));
  process.once('exit', killChildren);
  const nodes = new Map<string, LabChild>();
  const envs = new Map<string, Record<string, string>>();

  const startRedis = async () => {
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--appendonly', 'yes', '--dir', dir, '--save', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(redis);
    await listening(redisPort, redis, 'redis-server');
    return redis;
  };
  let redis = await startRedis();

  const stop = async () => {
    await Promise.all([...nodes.values()].map((node) => node.stop()));
    process.off('exit', killChildren);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all([...envs.values()].map((env) => removeLabChildFootprint(env)));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const nodeIds = Array.from({ length: count }, (_, i) => `lab${i + 1}`);
    for (const [i, id] of nodeIds.entries()) {
      const env = await labChildEnv({
        ISOLAB_REDIS_URL: redisUrl,
        ISOLAB_NODE_ID: id,
        // The router is on this machine: its X-Forwarded-For names the learner.
        ISOLAB_TRUSTED_PROXIES: '127.0.0.1',
        ...(options.nodePorts ? { ISOLAB_PORT: String(options.nodePorts[i]) } : {}),
        ...options.env,
        ...options.nodeEnv?.(i),
      });
      envs.set(id, env);
    }
    await Promise.all(nodeIds.map(async (id) => nodes.set(id, await startLabChild(envs.get(id)!, { readyTimeoutMs: READY_TIMEOUT_MS }))));

    const routerConfig = haproxyConfig(
      `127.0.0.1:${routerPort}`,
      nodeIds.map((id) => ({ id, address: `127.0.0.1:${envs.get(id)!.ISOLAB_PORT}` })),
      join(dir, 'haproxy.sock'),
    );
    const configPath = join(dir, 'haproxy.cfg');
    writeFileSync(configPath, routerConfig);
    const router = spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(router);
    await listening(routerPort, router, 'haproxy');
    const url = `http://127.0.0.1:${routerPort}`;
    // Until its health checks pass, HAProxy has no node to send anyone to.
    await until(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, 'the router to reach a lab node');
    // One node up is not a class: on a busy machine the others' checks pass seconds later, and
    // until they do the router sends every new learner to the first (the placement tests saw it).
    await until(() => routerSeesEveryNode(join(dir, 'haproxy.sock'), nodeIds), 'the router to have every lab node up');

    return {
      url,
      redisUrl,
      nodeIds,
      routerConfig,
      node: (id) => nodes.get(id)!,
      connect: (connectOptions = {}) => LabClient.connect(url, { origin: TEST_ORIGIN, ...connectOptions }),
      async kill(id) {
        const node = nodes.get(id)!;
        node.process.kill('SIGKILL');
        await node.exited();
      },
      async restart(id) {
        await nodes.get(id)!.stop();
        const node = await startLabChild(envs.get(id)!, { readyTimeoutMs: READY_TIMEOUT_MS });
        nodes.set(id, node);
        return node;
      },
      async restartRedis({ whileDown } = {}) {
        redis.kill('SIGTERM');
        await new Promise((resolve) => redis.once('exit', resolve));
        try {
          await whileDown?.();
        } finally {
          redis = await startRedis();
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Whether HAProxy's health checks have every node UP (its `show stat` over the stats socket). */
async function routerSeesEveryNode(socketPath: string, nodeIds: string[]): Promise<boolean> {
  const csv = await new Promise<string>((resolve) => {
    let text = '';
    const socket = connect(socketPath, () => socket.end('show stat\n'));
    socket.on('data', (chunk) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(''));
  });
  const header = csv.split('\n')[0]?.replace(/^# /, '').split(',') ?? [];
  const [name, status] = [header.indexOf('svname'), header.indexOf('status')];
  const up = new Set(csv.split('\n').map((line) => line.split(',')).filter((row) => row[status] === 'UP').map((row) => row[name]));
  return nodeIds.every((id) => up.has(id));
}

/** Resolves once something listens on the port; rejects if `child` exits first. */
async function listening(port: number, child: ChildProcess, name: string): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}:\n${output}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not listen on port ${port} in 20 s:\n${output}`);
}

/** Polls `condition` every 200 ms for up to a minute (a state to reach, not a speed to meet). */
export async function until(condition: () => Promise<boolean> | boolean, what: string, tries = 300): Promise<void> {
  for (let attempt = 0; attempt < tries; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Gave up waiting for ${what}.`);
}
