/**
 * Several lab nodes for one class (README "More than one machine", ../shared/SCALE-OUT.md): what
 * the nodes share through Redis. Only with ISOLAB_REDIS_URL; without it this module is never
 * loaded and lab-server is the whole lab, as before.
 *
 * A node stays today's lab-server: ptys, runc, screens and streams never leave it. Redis holds
 * small state only: each node's lease, each session's home node, the tokens (so any node can
 * tell a learner where their sandboxes are), the class-wide sandbox count, the class's open flag
 * and each node's roster for the dashboard. Events between nodes go through socket.io's Redis
 * adapter (cluster/wiring.ts).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { LearnerSummary, StepPass } from '../../../protocol';
import { LabError } from '../errors';
import type { Logger } from '../log';
import { hashToken } from '../session/session-store';

const KEY = {
  nodes: 'isolab:nodes',
  node: (id: string) => `isolab:node:${id}`,
  reap: (id: string) => `isolab:reap:${id}`,
  token: (token: string) => `isolab:tok:${hashToken(token)}`,
  /** The token keys of one session, so they can all be forgotten. */
  tokens: (sessionId: string) => `isolab:toks:${sessionId}`,
  home: (sessionId: string) => `isolab:home:${sessionId}`,
  count: 'isolab:count',
  klass: 'isolab:class',
  roster: (id: string) => `isolab:roster:${id}`,
  /** A session's passes, recorded on any node: "lesson step" → when. */
  passes: (sessionId: string) => `isolab:passes:${sessionId}`,
  /** Nodes that stopped, whose last roster is still shown (everyone on it disconnected). */
  stopped: 'isolab:stopped',
};

/** A node's lease lives this long unless refreshed; refreshed every LEASE_REFRESH_MS. */
const LEASE_MS = 6000;
const LEASE_REFRESH_MS = 2000;
/**
 * A node's roster for the dashboard, rewritten every LEASE_REFRESH_MS. Only live nodes' rosters
 * are read, so it may outlive its node: long enough for the node that reaps it to find it (and
 * keep it, everyone marked away) even when a busy machine delays the beats.
 */
const ROSTER_MS = 60_000;
/** A stopped node's learners stay on the dashboard, disconnected, this long (as a node keeps learners who left). */
const STOPPED_ROSTER_MS = 2 * 60 * 60 * 1000;
/** Tokens and homes outlive a day of class; each connection refreshes them. */
const SESSION_KEPT_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Claims the session's home for this node when it has none, or when the node that held it is
 * gone (its lease expired, or it restarted with a new boot id). Returns [outcome, previous node].
 * It reads node leases that are not in KEYS: fine on one Redis, not on Redis Cluster.
 */
const CLAIM_HOME = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'mine', ''}
end
if current then
  local node, boot = string.match(current, '^(.*)@([^@]*)$')
  local lease = redis.call('GET', 'isolab:node:' .. node)
  if lease and cjson.decode(lease).bootId == boot then return {'other', node} end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'lost', node}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'new', ''}
`;

/** One more sandbox for this node if the class is under its limit: the new total, or -1 when full. */
const RESERVE_SANDBOX = `
local total = 0
for _, n in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(n) end
if total >= tonumber(ARGV[2]) then return -1 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
`;

export interface NodeLease {
  bootId: string;
  /** Sandboxes on the node, warm ones too (its lab's size), for the dashboard's count. */
  sandboxes: number;
  /** Places learners hold (warm sandboxes are room for them) and the node's limit, for placing new learners. */
  claimed: number;
  max: number;
}

export interface ClusterOptions {
  redisUrl: string;
  nodeId: string;
  /** ISOLAB_CLASS_MAX_SANDBOXES; 0 for none. */
  classMaxSandboxes: number;
  logger: Logger;
  /** The node's load, for its lease. */
  load(): { sandboxes: number; claimed: number; max: number };
}

export type HomeClaim = { outcome: 'mine' | 'new' } | { outcome: 'lost'; previous: string } | { outcome: 'other'; node: string };

export class Cluster {
  readonly nodeId: string;
  /** Changes at every start: a restarted node is a new home, and its old sessions' sandboxes are gone. */
  readonly bootId = randomBytes(6).toString('hex');
  /** Commands. No offline queue: while Redis is down a command fails at once, and the caller says so. */
  readonly redis: Redis;
  /** The adapter's two connections (a subscriber cannot run commands). */
  readonly pub: Redis;
  readonly sub: Redis;
  private heartbeat: NodeJS.Timeout | undefined;
  private rosterSource: (() => Promise<LearnerSummary[]>) | undefined;
  private readonly reapListeners = new Set<(nodeId: string) => void>();
  private down = false;
  private closed = false;
  /** When Redis last came back: leases may have expired while it was away, so nobody is reaped for a while. */
  private backAt = 0;

  private constructor(private readonly options: ClusterOptions) {
    this.nodeId = options.nodeId;
    const connection = { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000) };
    this.redis = new Redis(options.redisUrl, { ...connection, connectionName: `isolab-${this.nodeId}` });
    this.pub = quietPublisher(new Redis(options.redisUrl, { ...connection, connectionName: `isolab-${this.nodeId}-pub` }), options.logger);
    // The subscriber queues its SUBSCRIBEs until connected, and resubscribes after Redis returns.
    this.sub = new Redis(options.redisUrl, { retryStrategy: connection.retryStrategy, connectionName: `isolab-${this.nodeId}-sub` });
    for (const client of [this.redis, this.pub, this.sub]) {
      client.on('error', (error: Error) => {
        if (this.down) return;
        this.down = true;
        options.logger.warn('Redis cannot be reached: open terminals carry on, new connections are refused until it is back', { code: 'CLUSTER_UNAVAILABLE', err: error });
      });
      // A connection that closed, even with no error seen (a quick restart), may come back to expired leases.
      client.on('close', () => (this.closed = true));
      client.on('ready', () => {
        if (!this.closed) return;
        this.closed = false;
        this.backAt = Date.now();
        if (this.down) options.logger.info('Redis is back');
        this.down = false;
        // Its lease may have run out meanwhile: renew it before a session's home is looked at.
        if (this.heartbeat) void this.beat();
      });
    }
  }

  /** Connects to Redis and takes this node's lease; throws with a clear sentence if Redis cannot be reached. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    const ready = (client: Redis) =>
      new Promise<void>((resolve, reject) => {
        if (client.status === 'ready') return resolve();
        const timer = setTimeout(() => reject(new Error(`Redis at ${redactUrl(options.redisUrl)} did not answer in 10 s. Start it, or unset ISOLAB_REDIS_URL to run one lab-server alone.`)), 10_000);
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    try {
      await Promise.all([ready(cluster.redis), ready(cluster.pub), ready(cluster.sub)]);
      // A restart: whatever this node counted before died with its sandboxes.
      await cluster.redis.hdel(KEY.count, cluster.nodeId);
      await cluster.renewLease();
    } catch (error) {
      cluster.disconnect();
      throw error;
    }
    cluster.heartbeat = setInterval(() => void cluster.beat(), LEASE_REFRESH_MS);
    cluster.heartbeat.unref();
    return cluster;
  }

  /** `node@boot`: a home names the node's life, not only its name. */
  get homeTag(): string {
    return `${this.nodeId}@${this.bootId}`;
  }

  /** The dashboard's rows this node publishes for the others (its own learners, with glances). */
  publishRoster(source: () => Promise<LearnerSummary[]>): void {
    this.rosterSource = source;
  }

  /** Called with a node found dead (first finder only): the others free what it held. */
  onNodeReaped(listener: (nodeId: string) => void): void {
    this.reapListeners.add(listener);
  }

  // ---- sessions -----------------------------------------------------------------------------

  /** A token issued on any node: the session's id, name and start, so this node can take it in. */
  async findToken(token: string): Promise<{ id: string; displayName: string; createdAt: number } | undefined> {
    const stored = await this.redis.get(KEY.token(token));
    return stored ? (JSON.parse(stored) as { id: string; displayName: string; createdAt: number }) : undefined;
  }

  async saveToken(token: string, session: { id: string; displayName: string; createdAt: number }): Promise<void> {
    await this.redis
      .multi()
      .set(KEY.token(token), JSON.stringify({ id: session.id, displayName: session.displayName, createdAt: session.createdAt }), 'PX', SESSION_KEPT_MS)
      .sadd(KEY.tokens(session.id), KEY.token(token))
      .pexpire(KEY.tokens(session.id), SESSION_KEPT_MS)
      .exec();
  }

  /** A pass a node recorded, for the node that takes the learner in if that one stops. The first time is kept. */
  async sharePass(sessionId: string, pass: StepPass): Promise<void> {
    await this.redis.multi().hsetnx(KEY.passes(sessionId), `${pass.lessonSlug} ${pass.stepId}`, String(pass.passedAt)).pexpire(KEY.passes(sessionId), SESSION_KEPT_MS).exec();
  }

  async sharedPasses(sessionId: string): Promise<StepPass[]> {
    const stored = await this.redis.hgetall(KEY.passes(sessionId));
    return Object.entries(stored).map(([step, at]) => {
      const [lessonSlug, stepId] = step.split(' ');
      return { lessonSlug, stepId, passedAt: Number(at) };
    });
  }

  async forgetPasses(sessionId: string): Promise<void> {
    await this.redis.del(KEY.passes(sessionId));
  }

  /** The instructor cleared the class: no node takes anyone's passes in from here again. */
  async forgetAllPasses(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', KEY.passes('*'), 'COUNT', 500);
      if (keys.length > 0) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /** The learner chose a new name: a node that takes the session in later knows it by that name. */
  async renameSession(sessionId: string, displayName: string): Promise<void> {
    for (const key of await this.redis.smembers(KEY.tokens(sessionId))) {
      const stored = await this.redis.get(key);
      if (stored) await this.redis.set(key, JSON.stringify({ ...(JSON.parse(stored) as object), displayName }), 'KEEPTTL');
    }
  }

  /** No node takes these sessions in again by their tokens (the instructor ended them). */
  async forgetSessions(sessionIds: string[]): Promise<void> {
    for (const sessionId of sessionIds) {
      const keys = await this.redis.smembers(KEY.tokens(sessionId));
      await this.redis.del(...keys, KEY.tokens(sessionId));
    }
  }

  async claimHome(sessionId: string): Promise<HomeClaim> {
    const [outcome, node] = (await this.redis.eval(CLAIM_HOME, 1, KEY.home(sessionId), this.homeTag, SESSION_KEPT_MS)) as [string, string];
    if (outcome === 'other') return { outcome, node };
    if (outcome === 'lost') return { outcome, previous: node };
    return { outcome: outcome as 'mine' | 'new' };
  }

  // ---- nodes --------------------------------------------------------------------------------

  /** Every node with a live lease, this one included. */
  async liveNodes(): Promise<Map<string, NodeLease>> {
    const ids = await this.redis.smembers(KEY.nodes);
    const leases = ids.length > 0 ? await this.redis.mget(ids.map(KEY.node)) : [];
    const live = new Map<string, NodeLease>();
    ids.forEach((id, i) => {
      if (leases[i]) live.set(id, JSON.parse(leases[i]!) as NodeLease);
    });
    return live;
  }

  /** Sandboxes in use on every live node, and how many the class may have (the class limit, else the nodes' limits added up). */
  async classSandboxes(): Promise<{ live: number; max: number }> {
    const leases = [...(await this.liveNodes()).values()];
    const live = leases.reduce((total, lease) => total + lease.sandboxes, 0);
    const max = this.options.classMaxSandboxes || leases.reduce((total, lease) => total + lease.max, 0);
    return { live, max };
  }

  /** The live node with the most room, other than this one; undefined if none has any. */
  async roomiestOther(): Promise<string | undefined> {
    const others = [...(await this.liveNodes())].filter(([id, lease]) => id !== this.nodeId && lease.claimed < lease.max);
    others.sort(([, a], [, b]) => a.claimed / a.max - b.claimed / b.max);
    return others[0]?.[0];
  }

  // ---- class-wide admission -----------------------------------------------------------------

  /**
   * Takes one of the class's sandbox places (ISOLAB_CLASS_MAX_SANDBOXES) for this node, or
   * refuses LAB_FULL. Returns the function that gives it back, once.
   */
  async reserveSandbox(): Promise<() => void> {
    const max = this.options.classMaxSandboxes;
    if (max === 0) return () => undefined;
    const total = (await this.redis.eval(RESERVE_SANDBOX, 1, KEY.count, this.nodeId, max)) as number;
    if (total < 0) throw new LabError('LAB_FULL', `The class is full: all ${max} sandboxes of the class are in use. Try again in a few minutes.`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.redis.hincrby(KEY.count, this.nodeId, -1).catch((error: unknown) => this.options.logger.warn('could not give a class sandbox place back', { err: error }));
    };
  }

  // ---- class flags --------------------------------------------------------------------------

  async setClassOpen(open: boolean): Promise<void> {
    await this.redis.hset(KEY.klass, 'open', open ? '1' : '0');
  }

  /** Whether the class is open to new sandboxes; true unless an instructor closed it. */
  async classOpen(): Promise<boolean> {
    return (await this.redis.hget(KEY.klass, 'open')) !== '0';
  }

  /** The code an instructor set (stored as '' once removed), for a node that starts later. */
  async setClassCode(code: string | null): Promise<void> {
    await this.redis.hset(KEY.klass, 'code', code ?? '');
  }

  /** The class code an instructor set: null once removed, undefined if none ever was (ISOLAB_CLASS_CODE stands). */
  async classCode(): Promise<string | null | undefined> {
    const code = await this.redis.hget(KEY.klass, 'code');
    return code === null ? undefined : code || null;
  }

  // ---- the dashboard ------------------------------------------------------------------------

  /** Every other node's learners, each marked with its node: the live nodes', and the last of those that stopped. */
  async otherRosters(): Promise<LearnerSummary[]> {
    const others = [...new Set([...(await this.liveNodes()).keys(), ...(await this.redis.smembers(KEY.stopped))])].filter((id) => id !== this.nodeId);
    if (others.length === 0) return [];
    const rosters = await this.redis.mget(others.map(KEY.roster));
    return rosters.flatMap((roster) => (roster ? (JSON.parse(roster) as LearnerSummary[]) : []));
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  private async renewLease(): Promise<void> {
    const { sandboxes, claimed, max } = this.options.load();
    const lease: NodeLease = { bootId: this.bootId, sandboxes, claimed, max };
    await this.redis.multi().sadd(KEY.nodes, this.nodeId).srem(KEY.stopped, this.nodeId).set(KEY.node(this.nodeId), JSON.stringify(lease), 'PX', LEASE_MS).exec();
  }

  private async beat(): Promise<void> {
    try {
      await this.renewLease();
      if (this.rosterSource) await this.redis.set(KEY.roster(this.nodeId), JSON.stringify(await this.rosterSource()), 'PX', ROSTER_MS);
      await this.reapDead();
    } catch {
      // Redis is down: the 'error' listener said so once; the next beat tries again.
    }
  }

  /** The first node to see another's lease expired frees its class places; the rest skip it. */
  private async reapDead(): Promise<void> {
    // Every node renews its lease on its first beat after Redis returns; until then a missing lease proves nothing.
    if (Date.now() - this.backAt < LEASE_MS) return;
    const ids = await this.redis.smembers(KEY.nodes);
    const leases = ids.length > 0 ? await this.redis.mget(ids.map(KEY.node)) : [];
    for (const [i, id] of ids.entries()) {
      if (leases[i] || id === this.nodeId) continue;
      if ((await this.redis.set(KEY.reap(id), this.nodeId, 'PX', 30_000, 'NX')) !== 'OK') continue;
      await this.redis.multi().hdel(KEY.count, id).srem(KEY.nodes, id).exec();
      await this.keepRosterOfStopped(id);
      this.options.logger.warn('a lab node stopped answering: its learners get a new sandbox on another node', { code: 'NODE_LOST', node: id });
      for (const listener of this.reapListeners) listener(id);
    }
  }

  /**
   * The learners of a node that stopped stay on the dashboard, disconnected, with what they
   * passed: each comes back as connected when their page reaches a live node (or the node
   * restarts and publishes its roster again).
   */
  private async keepRosterOfStopped(id: string): Promise<void> {
    const roster = await this.redis.get(KEY.roster(id));
    if (!roster) return;
    const away = (JSON.parse(roster) as LearnerSummary[]).map((learner) => ({ ...learner, connected: false, sandbox: null, spotlighted: false, following: false }));
    await this.redis.multi().set(KEY.roster(id), JSON.stringify(away), 'PX', STOPPED_ROSTER_MS).sadd(KEY.stopped, id).exec();
  }

  /** A clean stop: the node's lease and places go at once, so nobody waits for them to expire. */
  async leave(): Promise<void> {
    clearInterval(this.heartbeat);
    try {
      await this.keepRosterOfStopped(this.nodeId);
      await this.redis.multi().del(KEY.node(this.nodeId)).hdel(KEY.count, this.nodeId).srem(KEY.nodes, this.nodeId).exec();
    } catch {
      // Redis is down: the lease expires by itself.
    }
    this.disconnect();
  }

  private disconnect(): void {
    clearInterval(this.heartbeat);
    for (const client of [this.redis, this.pub, this.sub]) client.disconnect();
  }
}

/**
 * The adapter publishes without handling a failure: while Redis is down that would be an
 * unhandled rejection, which stops Node. Here a failed publish is a dropped event, logged.
 */
function quietPublisher(client: Redis, logger: Logger): Redis {
  const publish = client.publish.bind(client) as (channel: string, message: string | Buffer) => Promise<number>;
  let warned = 0;
  (client as unknown as { publish: typeof publish }).publish = (channel, message) =>
    publish(channel, message).catch((error: unknown) => {
      if (Date.now() - warned > 10_000) {
        warned = Date.now();
        logger.warn('a class event could not reach the other lab nodes (Redis is down)', { code: 'CLUSTER_UNAVAILABLE', err: error });
      }
      return 0;
    });
  return client;
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//…@');
}
