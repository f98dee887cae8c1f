/**
 * Idle learners for a class over several lab nodes: many connections through the router, each
 * from an address of its own in 127.0.0.2-254 (HAProxy forwards it in X-Forwarded-For, which the
 * nodes believe from the router only), so the per-address limits count them as a class behind
 * their own machines, not as one address. Used by the cluster benchmark, in its own process, and
 * by lab-server/test/cluster-idle.test.ts through `idleLearnersProcess()`, which holds them in a
 * child process (idle-learners-process.ts) so that the test's process is not what is measured.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ServerToClientEvents } from '../../protocol';
import { LabClient, type LabRequestError } from '../../lib/lab-client';
import { TEST_ORIGIN } from '../../lab-server/test/support/test-lab';

/** Connections opened at once: a class arriving, not a flood. */
const BATCH = 50;

/** The local address of the `index`th learner: 127.0.0.2 to 127.0.0.254, round and round. */
export const learnerAddress = (index: number) => `127.0.0.${2 + (index % 253)}`;

/**
 * `count` new learners through the router at `url`, BATCH at a time. A connection the router or
 * a node dropped before its handshake was answered (a busy machine) is tried again, as the page's
 * backoff does; a refusal with a code (a limit, a full class) is not.
 */
export async function connectIdleLearners(url: string, count: number): Promise<LabClient[]> {
  const connectOne = async (index: number) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await LabClient.connect(url, { origin: TEST_ORIGIN, localAddress: learnerAddress(index), displayName: `idle-${index}`, timeoutMs: 60_000 });
      } catch (error) {
        if (attempt >= 10 || !['DISCONNECTED', 'TIMEOUT'].includes((error as LabRequestError).code)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const clients: LabClient[] = [];
  try {
    for (let i = 0; i < count; i += BATCH) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => connectOne(i + j)))));
    }
  } catch (error) {
    for (const client of clients) client.close();
    throw error;
  }
  return clients;
}

/** How many of `clients` each node holds. */
export function learnersPerNode(clients: LabClient[]): Map<string, number> {
  const perNode = new Map<string, number>();
  for (const client of clients) perNode.set(client.session!.node!, (perNode.get(client.session!.node!) ?? 0) + 1);
  return perNode;
}

type EventName = keyof ServerToClientEvents;

/**
 * Listens, on every client, for the first `event` whose payload has `match`'s values; `arrivals`
 * holds when each arrived (performance.now()), and `all` resolves once every client has one.
 */
export function everyoneHears(clients: LabClient[], event: EventName, match: Record<string, unknown>): { arrivals: number[]; all: Promise<void> } {
  const arrivals: number[] = [];
  const all = Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          const listener = (payload: Record<string, unknown>) => {
            if (!Object.entries(match).every(([key, value]) => payload[key] === value)) return;
            arrivals.push(performance.now());
            off();
            resolve();
          };
          const off = client.on(event, listener as never);
        }),
    ),
  ).then(() => undefined);
  return { arrivals, all };
}

/** What the child process answers; see idle-learners-process.ts. */
export type IdleRequest =
  | { type: 'connect'; url: string; count: number }
  | { type: 'arm'; event: EventName; match: Record<string, unknown> }
  | { type: 'heard'; waitMs: number }
  | { type: 'connected' };

export interface IdleLearner {
  sessionId: string;
  node: string;
}

export interface IdleLearners {
  /** Connects `count` new learners through the router; their sessions and nodes. */
  connect(url: string, count: number): Promise<IdleLearner[]>;
  /** Starts listening on every learner for `event` with `match`'s values (before it is sent). */
  arm(event: EventName, match: Record<string, unknown>): Promise<void>;
  /** How many learners heard the armed event, once all have or after `waitMs` (a wait, not a limit to meet). */
  heard(waitMs: number): Promise<{ heard: number; of: number }>;
  /** How many learners' sockets are connected now. */
  connected(): Promise<number>;
  /** Closes every learner's socket and ends the process. */
  stop(): Promise<void>;
}

/** Idle learners held by a child process of their own (idle-learners-process.ts). */
export function idleLearnersProcess(): IdleLearners {
  const child: ChildProcess = fork(fileURLToPath(new URL('./idle-learners-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of waiting.values()) waiter.reject(new Error(`the idle learners' process exited (${signal ?? `code ${code}`})`));
    waiting.clear();
  });
  const ask = <T>(request: IdleRequest) =>
    new Promise<T>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error("the idle learners' process is not running"));
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (result: unknown) => void, reject });
      child.send({ id, ...request });
    });
  return {
    connect: (url, count) => ask({ type: 'connect', url, count }),
    arm: (event, match) => ask({ type: 'arm', event, match }),
    heard: (waitMs) => ask({ type: 'heard', waitMs }),
    connected: () => ask({ type: 'connected' }),
    async stop() {
      // Disconnecting is the child's cue to close its sockets and exit.
      if (child.connected) child.disconnect();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
