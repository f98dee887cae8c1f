/**
 * How a lab node takes part in a class of several (README "More than one machine"): the
 * handshake sends each session to its home node, class controls reach every node through
 * socket.io's Redis adapter, and the class-wide sandbox limit is counted in Redis.
 *
 * A session lives on one node, where its sandboxes are. Any other node refuses it with
 * WRONG_NODE and the node's name; the client reconnects with `?node=<name>`, which the router
 * (HAProxy's `use-server %[urlp(node)]`) honours while that node is up. When the home node has
 * stopped, the node the learner reaches takes the session over and says so (`homeLost`).
 */
import { createAdapter } from '@socket.io/redis-adapter';
import type { Server } from 'socket.io';
import { HandshakeAuth, type ClassPass, type ErrorCode } from '../../../protocol';
import type { ClassPeers, Classroom } from '../classroom/classroom';
import { LabError } from '../errors';
import type { Logger } from '../log';
import type { ClassProgress, SharedPasses } from '../progress/class-progress';
import type { RecordedSessionStore } from '../progress/recorded-sessions';
import type { Lab } from '../sandbox/lab';
import type { LabSocket } from '../transport/handler-types';
import type { SandboxPlaces } from '../transport/lab-handlers';
import type { ClusterGate, Middleware } from '../transport/socket-server';
import { BroadcastRelay } from './broadcast-replica';
import type { Cluster } from './cluster';
import { SpotlightRelay } from './spotlight-relay';
import { TerminalStreams } from './terminal-stream';

/** How long a node waits for the others to answer a class control. */
const PEER_TIMEOUT_MS = 10_000;

const UNAVAILABLE = "The lab's machines cannot reach their shared state (Redis) right now, so new connections wait until it is back. Try again in a minute.";

export interface ClusterWiring {
  gate: ClusterGate;
  peers: ClassPeers;
  classPlaces: SandboxPlaces;
  sharedPasses: SharedPasses;
  /** Once socket.io, the classroom and the class record exist: answers the other nodes' class controls. */
  attach(io: Server, classroom: Classroom, progress: ClassProgress): void;
  dispose(): void;
}

export function clusterWiring(cluster: Cluster, deps: { lab: Lab; sessions: RecordedSessionStore; logger: Logger }): ClusterWiring {
  const { lab, sessions, logger } = deps;
  let io: Server | undefined;
  let progress: ClassProgress | undefined;

  const refuse = (next: Parameters<Middleware>[1], code: ErrorCode, message: string, node?: string) =>
    next(Object.assign(new Error(message), { data: { code, message, ...(node ? { node } : {}) } }));
  const unavailable = (next: Parameters<Middleware>[1], error: unknown) => {
    logger.warn('connection refused: Redis cannot be reached', { code: 'CLUSTER_UNAVAILABLE', err: error });
    refuse(next, 'CLUSTER_UNAVAILABLE', UNAVAILABLE);
  };

  const beforeHandshake: Middleware = (socket, next) => {
    const auth = HandshakeAuth.safeParse(socket.handshake.auth);
    const token = auth.success ? auth.data.token : undefined;
    // Malformed handshakes are the handshake's to refuse; known tokens need no look-up.
    if (!token || sessions.find(token)) return next();
    cluster.findToken(token).then(
      (known) => {
        if (known) sessions.adopt(known, token);
        next();
      },
      (error: unknown) => unavailable(next, error),
    );
  };

  const afterHandshake: Middleware = (socket, next) => {
    void home(socket).then(
      (wrongNode) => (wrongNode ? refuse(next, 'WRONG_NODE', `Your sandboxes are on lab node ${wrongNode}; reconnecting there.`, wrongNode) : next()),
      (error: unknown) => unavailable(next, error),
    );
  };

  /** Makes this node the session's home, or returns the node that is. */
  async function home(socket: LabSocket): Promise<string | undefined> {
    const { session, token, isNew } = socket.data;
    if (isNew) {
      // A full node sends a new learner to the node with the most room (once: a learner sent
      // here by name stays, and meets LAB_FULL if every node filled up meanwhile).
      const sentHere = socket.handshake.query.node === cluster.nodeId;
      if (!sentHere && lab.size >= lab.maxSandboxes) {
        const other = await cluster.roomiestOther();
        if (other) return other;
      }
      await cluster.saveToken(token, session);
    }
    const claim = await cluster.claimHome(session.id);
    if (claim.outcome === 'other') return claim.node;
    if (claim.outcome === 'lost') {
      socket.data.homeLost = true;
      logger.info("a session's node stopped: it lives on here", { sessionId: session.id, previous: claim.previous });
      progress?.takeIn(session, token, await cluster.sharedPasses(session.id));
    }
    return undefined;
  }

  /**
   * Asks every other node and gathers their answers. A node that does not answer within the
   * adapter's timeout counts as nothing; so does everything when Redis is down (the adapter then
   * never calls back, hence the second timer).
   */
  function ask<T>(event: string, ...args: unknown[]): Promise<T[]> {
    const server = io;
    if (!server) return Promise.resolve([]);
    return new Promise((resolve) => {
      const fallback = setTimeout(() => resolve([]), PEER_TIMEOUT_MS + 1000);
      const emit = server.serverSideEmit.bind(server) as (event: string, ...rest: unknown[]) => boolean;
      emit(event, ...args, (error: Error | null, answers: T[] | undefined) => {
        clearTimeout(fallback);
        if (error) logger.warn('a lab node did not answer a class control in time', { event, err: error });
        resolve(answers ?? []);
      });
    });
  }
  const sum = (answers: unknown[]) => answers.reduce<number>((total, n) => total + (typeof n === 'number' ? n : 0), 0);

  const peers: ClassPeers = {
    nodeId: cluster.nodeId,
    endAll: async () => sum(await ask('isolab:end-all')),
    resetLearner: async (sessionId) => sum(await ask('isolab:reset-learner', sessionId)),
    async setOpen(open) {
      await cluster.setClassOpen(open);
      await ask('isolab:set-open', open);
    },
    async setCode(code) {
      await cluster.setClassCode(code);
      await ask('isolab:set-code', code);
    },
    endOldCode: async () => sum(await ask('isolab:end-old-code')),
    forgetSessions: (sessionIds) => cluster.forgetSessions(sessionIds),
    learners: () => cluster.otherRosters(),
    sandboxes: () => cluster.classSandboxes(),
    spotlight: (learnerSessionId, ended) => spotlights.spotlight(learnerSessionId, ended),
    broadcastStarted: (terminal) => broadcast.started(terminal),
    broadcastStopped: () => broadcast.stopped(),
  };
  const streams = new TerminalStreams(cluster.nodeId);
  const broadcast = new BroadcastRelay(streams, logger);
  const spotlights = new SpotlightRelay(cluster.nodeId, streams);

  /** Sandbox id → its give-back, for the places this node holds under the class limit. */
  const held = new Map<string, () => void>();
  lab.onSandboxClosed((sandbox) => {
    held.get(sandbox.id)?.();
    held.delete(sandbox.id);
  });
  const classPlaces: SandboxPlaces = {
    async reserve() {
      let giveBack: () => void;
      try {
        giveBack = await cluster.reserveSandbox();
      } catch (error) {
        if (error instanceof LabError) throw error;
        throw new LabError('CLUSTER_UNAVAILABLE', UNAVAILABLE, error);
      }
      let kept = false;
      return {
        started(sandboxId) {
          // Two opens of one key share a sandbox: it holds one place.
          if (held.has(sandboxId)) return;
          held.set(sandboxId, giveBack);
          kept = true;
        },
        release() {
          if (!kept) giveBack();
        },
      };
    },
  };

  const warnUnshared = (error: unknown) => logger.warn('a pass could not be shared with the other lab nodes; this node still has it', { err: error });
  const sharedPasses: SharedPasses = {
    recorded: (sessionId, pass) => void cluster.sharePass(sessionId, pass).catch(warnUnshared),
    async forgotten(sessionId) {
      await Promise.all([cluster.forgetPasses(sessionId).catch(warnUnshared), ask('isolab:forget-learner', sessionId)]);
    },
    ofOtherNodes: async () => (await ask<ClassPass[]>('isolab:class-passes')).flat(),
    async clearOtherNodes() {
      await cluster.forgetAllPasses();
      const cleared = await ask<{ learners: number; passes: number }>('isolab:clear-class');
      return { learners: sum(cleared.map((c) => c.learners)), passes: sum(cleared.map((c) => c.passes)) };
    },
  };

  return {
    sharedPasses,
    gate: { nodeId: cluster.nodeId, adapter: createAdapter(cluster.pub, cluster.sub, { key: 'isolab', requestsTimeout: PEER_TIMEOUT_MS }), beforeHandshake, afterHandshake },
    peers,
    classPlaces,
    dispose: () => {
      spotlights.dispose();
      broadcast.dispose();
      streams.dispose();
    },
    attach(server, classroom, record) {
      io = server;
      progress = record;
      const on = server.on.bind(server) as (event: string, listener: (...args: never[]) => void) => void;
      // Answered as soon as the closing starts: the instructor's node must not wait out a busy node's teardowns.
      on('isolab:end-all', (answer: (n: number) => void) => answer(classroom.endAllHere().count));
      on('isolab:reset-learner', (sessionId: string, answer: (n: number) => void) => answer(typeof sessionId === 'string' ? classroom.resetLearnerHere(sessionId).count : 0));
      on('isolab:set-open', (open: boolean, answer: (done: boolean) => void) => {
        classroom.setOpenHere(open === true);
        answer(true);
      });
      on('isolab:set-code', (code: string | null, answer: (done: boolean) => void) => {
        classroom.setCodeHere(typeof code === 'string' ? code : null);
        answer(true);
      });
      on('isolab:class-passes', (answer: (passes: ClassPass[]) => void) => answer(record.passesHere()));
      on('isolab:clear-class', (answer: (cleared: { learners: number; passes: number }) => void) => answer(record.clearHere()));
      on('isolab:forget-learner', (sessionId: string, answer: (passes: number) => void) => answer(typeof sessionId === 'string' ? record.forgetHere(sessionId) : 0));
      on('isolab:end-old-code', (answer: (n: number) => void) => void classroom.endOldCodeHere().then(answer, () => answer(0)));
      const emit = (event: string, ...args: unknown[]) => void server.serverSideEmit(event, ...args);
      streams.attach(emit, ask, on);
      broadcast.attach(classroom, emit, ask, on);
      spotlights.attach(classroom, emit, ask, on);
      // The first node to see a node gone tells the others: the streams it published, and the
      // spotlights its instructor had elsewhere, have ended.
      const nodeGone = (node: string) => {
        streams.dropFrom(node);
        spotlights.nodeGone(node);
      };
      on('isolab:node-gone', (node: string) => nodeGone(String(node)));
      cluster.onNodeReaped((node) => {
        nodeGone(node);
        emit('isolab:node-gone', node);
      });
      // A node that starts (or restarts) while the class is closed stays closed, and takes the
      // class code an instructor set meanwhile.
      void cluster.classOpen().then(
        (open) => open || classroom.setOpenHere(false),
        () => undefined,
      );
      void cluster.classCode().then(
        (code) => code !== undefined && classroom.setCodeHere(code),
        () => undefined,
      );
      classroom.onRename((sessionId, displayName) =>
        cluster.renameSession(sessionId, displayName).catch((error: unknown) => logger.warn('a new display name could not be shared with the other lab nodes', { err: error })),
      );
      cluster.publishRoster(() => classroom.localLearners());
    },
  };
}
