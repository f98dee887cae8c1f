/**
 * Assembles a lab-server: runtime, lab, sessions, socket.io and HTTP routes. `main.ts` adds the
 * process concerns (config from the environment, signals, exit codes); tests and benchmarks call
 * this directly with a configuration of their own.
 */
import { chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { progressDbPath, warmPoolBase, type LabConfig } from './config';
import type { CgroupHost } from './cgroups/host';
import { createHttpHandler, type Health } from './http/routes';
import { LabMetrics } from './http/metrics';
import type { Logger } from './log';
import { rootfsPath } from './rootfs/stamp';
import { claimIdentitySlots, claimStateDir } from './state-lock';
import { Runc } from './runtime/runc';
import { RuncRuntime } from './runtime/runc-runtime';
import { ensureNsHelper } from './runtime/ns-helper';
import { sandboxLimits } from './runtime/oci-spec';
import { mountReadonlyView } from './runtime/readonly-view';
import { startSpawner } from './runtime/spawner';
import type { ContainerRuntime } from './runtime/runtime';
import { loopStalls } from './loop-stalls';
import { Observatory } from './observe/observatory';
import { BudgetWatch } from './sandbox/budget-watch';
import { HostIdentities, hostUidOf, identitySlotsAvailable, SPARE_IDENTITIES } from './sandbox/identity';
import { ExecGate } from './sandbox/exec-gate';
import { Lab } from './sandbox/lab';
import { removeLeftovers, unmountViews, type RecoveryReport } from './sandbox/recovery';
import { Sandbox, type SandboxEnvironment } from './sandbox/sandbox';
import type { SessionStore } from './session/session-store';
import { AddressLimits } from './transport/address-limits';
import { addressSet } from './transport/client-address';
import { classroomHandlers } from './transport/classroom-handlers';
import { labHandlers } from './transport/lab-handlers';
import { observeHandlers } from './transport/observe-handlers';
import { createSocketServer, LEARNERS_ROOM, sessionRoom } from './transport/socket-server';
import { ClassCode } from './classroom/class-code';
import { Classroom } from './classroom/classroom';
import { MemoryClassRoster } from './classroom/roster';
import { ClassProgress } from './progress/class-progress';
import { Course } from './progress/course';
import { ProgressDb } from './progress/progress-db';
import { RecordedSessionStore } from './progress/recorded-sessions';
import { progressHandlers } from './transport/progress-handlers';
import type { Cluster } from './cluster/cluster';
import type { ClusterWiring } from './cluster/wiring';

export interface LabServerDeps {
  config: LabConfig;
  logger: Logger;
  cgroupHost: CgroupHost;
  swapAccounting: boolean;
  runcVersion: string;
  /** Defaults to runc with the lab's own state directory. */
}

export interface LabServer {
  readonly http: HttpServer;
  readonly lab: Lab;
  readonly sessions: SessionStore;
  /** Verified progress and the class record. */
  readonly progress: ClassProgress;
  readonly metrics: LabMetrics;
  /** Live observation of sandboxes (meters, host view, namespace map). */
  readonly observatory: Observatory;
  /** The cap on runc execs and the check rate (for tests). */
  readonly execGate: ExecGate;
  readonly runtime: ContainerRuntime;
  readonly recovery: RecoveryReport;
  /** The instructor's secret: from ISOLAB_INSTRUCTOR_TOKEN, or made at this start. */
  readonly instructorToken: string;
  /** The host uids this lab's sandboxes may run as (claimed host-wide: state-lock.ts). */
  readonly hostUids: { first: number; last: number };
  /** The URL the server listens on, e.g. http://127.0.0.1:3001. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Sessions without a connection for an hour are forgotten, unless they still own a sandbox, so a
 * flood of connections cannot pile sessions up. A learner with recorded progress comes back
 * from the class record with the same token (progress/recorded-sessions.ts).
 */
const SESSION_MAX_IDLE_MS = 60 * 60 * 1000;

export async function startLabServer(deps: LabServerDeps): Promise<LabServer> {
  const { config, logger, cgroupHost } = deps;
  const runcStateRoot = join(config.stateDir, 'runc');
  const bundlesDir = join(config.stateDir, 'bundles');
  let status: Health['status'] = 'starting';

  // Before touching anything: another lab-server on this state directory must not lose its sandboxes.
  const stateDirClaim = claimStateDir(config.stateDir);
  // Host uid ranges no other lab-server on this host hands out (sandbox/identity.ts).
  let identitySlots: ReturnType<typeof claimIdentitySlots>;
  try {
    identitySlots = claimIdentitySlots(config.maxSandboxes + SPARE_IDENTITIES, identitySlotsAvailable(config.uidBase));
  } catch (error) {
    stateDirClaim.release();
    throw error;
  }
  const claims = {
    release() {
      identitySlots.release();
      stateDirClaim.release();
    },
  };
  // Processes are started by a helper (runtime/spawner.ts), off the event loop; it is started
  // now, while lab-server is small and holds no learner's terminal for it to inherit.
  startSpawner();
  // The course and the class record before any sandbox: either can stop the start with a clear sentence.
  let course: Course;
  let progressDb: ProgressDb;
  try {
    course = Course.load();
    progressDb = new ProgressDb(progressDbPath(config));
  } catch (error) {
    claims.release();
    throw error;
  }
  // Several lab nodes for one class: only with ISOLAB_REDIS_URL, and only then is Redis loaded at all.
  let labForLoad: Lab | undefined;
  let cluster: Cluster | undefined;
  if (config.redisUrl) {
    try {
      const { Cluster } = await import('./cluster/cluster');
      cluster = await Cluster.start({
        redisUrl: config.redisUrl,
        nodeId: config.nodeId || hostname(),
        classMaxSandboxes: config.classMaxSandboxes,
        logger,
        load: () => ({ sandboxes: labForLoad?.size ?? 0, claimed: labForLoad?.claimed ?? 0, max: config.maxSandboxes }),
      });
    } catch (error) {
      progressDb.close();
      claims.release();
      throw error;
    }
  }
  const recovery = await removeLeftovers(new Runc(config.runcPath, runcStateRoot), cgroupHost, config.cgroupParent, bundlesDir, logger);
  unmountViews(join(config.stateDir, 'readonly'));
  // runc reaches the rootfs and the bundles only through read-only views, which the kernel locks
  // read-only inside every sandbox (see runtime/readonly-view.ts). The sandbox's root must pass
  // through the state directory to reach the rootfs view: 0711 lets it, without listing anything.
  chmodSync(config.stateDir, 0o711);
  // The rootfs views are made per host identity (sandbox/identity.ts), the first time each is used.
  const nsHelper = ensureNsHelper();
  const identities = new HostIdentities({
    uidBase: config.uidBase,
    firstSlot: identitySlots.firstSlot,
    slots: config.maxSandboxes + SPARE_IDENTITIES,
    rootfs: rootfsPath(config.dataDir),
    viewsDir: join(config.stateDir, 'readonly'),
    nsHelper,
  });
  identities.holdHostUids(recovery.stuckHostUids);
  const bundlesView = mountReadonlyView(bundlesDir, join(config.stateDir, 'readonly', 'bundles'));

  const runtime = new RuncRuntime({
    runcPath: config.runcPath,
    stateRoot: runcStateRoot,
    cgroupHost,
    cgroupParent: config.cgroupParent,
    bundlesDir,
    bundlesView: bundlesView.path,
    nsHelper,
    swapAccounting: deps.swapAccounting,
    onSliceRefused: (message) => logger.warn(`the kernel refused a short scheduler slice for a terminal's shell (${message}); typing may wait longer under load`),
    logger,
  });
  const env: SandboxEnvironment = {
    runtime,
    identities,
    limits: sandboxLimits(config),
    maxTerminals: config.maxTerminalsPerSandbox,
    startTimeoutMs: config.startTimeoutMs,
    execGate: new ExecGate(config.maxRuncExecs, config.checksPerMinute),
    logger,
  };
  const metrics = new LabMetrics();
  const lab = new Lab(
    (id, key, ownerSessionId, hooks) => Sandbox.start(id, key, ownerSessionId, env, hooks),
    {
      maxSandboxes: config.maxSandboxes,
      maxSandboxesPerSession: config.maxSandboxesPerSession,
      graceMs: config.graceMs,
      idleMs: config.idleMs,
      maxLifetimeMs: config.maxLifetimeMs,
      warmSandboxes: warmPoolBase(config),
    },
    logger,
    metrics,
  );
  labForLoad = lab;
  const budgetWatch = new BudgetWatch(lab, { cgroupHost, ptysPerSandbox: env.limits.ptys, logger });
  const classCode = new ClassCode(config.classCode || undefined);
  const sessions = new RecordedSessionStore(progressDb, (session) => classCode.admitted(session));
  const sessionSweeper = setInterval(() => {
    sessions.sweep(SESSION_MAX_IDLE_MS, (s) => lab.forSession(s.id).length > 0);
    env.execGate.sweep();
  }, 5 * 60 * 1000);
  sessionSweeper.unref();

  const health = (): Health => ({
    status,
    cgroupMode: cgroupHost.mode,
    runcVersion: deps.runcVersion,
    sandboxes: lab.size,
    maxSandboxes: config.maxSandboxes,
    acceptingNew: lab.acceptingNew,
    leftovers: lab.leftoverReport(),
  });
  const trustedProxies = addressSet(config.trustedProxies);
  const http = createServer(
    createHttpHandler(health, metrics, { allowed: addressSet(config.metricsAllow), token: config.metricsToken || undefined, trustedProxies }),
  );
  loopStalls.start();
  const stopStallReports = loopStalls.onStall((stall) => {
    metrics.loopStalledSeconds.inc(stall.ms / 1000);
    // Short stalls happen on a busy host; a long one is worth the operator's attention.
    if (stall.ms >= 1000) logger.warn("lab-server's event loop stalled; the time is not counted against learners", { code: 'LOOP_STALLED', ms: stall.ms });
  });
  const observatory = new Observatory(lab, { cgroupHost, logger, metrics });
  const instructorToken = config.instructorToken || randomBytes(24).toString('base64url');
  let wiring: ClusterWiring | undefined;
  if (cluster) wiring = (await import('./cluster/wiring')).clusterWiring(cluster, { lab, sessions, logger });
  const classroom = new Classroom(lab, new MemoryClassRoster(), cgroupHost, logger, { classCode, sessions }, wiring?.peers);
  const progress = new ClassProgress(progressDb, course, sessions, classroom, { checkTimeoutMs: config.checkTimeoutMs, logger, shared: wiring?.sharedPasses });
  classroom.onRename((sessionId, displayName) => progress.renamed(sessionId, displayName));
  const limits = new AddressLimits(config);
  const sockets = createSocketServer(http, {
    allowedOrigins: config.allowedOrigins,
    lab,
    sessions,
    limits,
    trustedProxies,
    instructorToken,
    classCode,
    handlers: [labHandlers(lab, limits, { checkTimeoutMs: config.checkTimeoutMs, metrics, classPlaces: wiring?.classPlaces }), observeHandlers(lab, observatory), classroomHandlers(lab, classroom), progressHandlers(lab, progress, limits)],
    logger,
    metrics,
    cluster: wiring?.gate,
  });
  wiring?.attach(sockets.io as never, classroom, progress);

  classroom.attach({
    // Several nodes: each tells its own learners, when its replica of the broadcast is ready (cluster/broadcast-replica.ts).
    toLearners: (event, payload) => (wiring ? sockets.io.local : sockets.io).to(LEARNERS_ROOM).emit(event, payload),
    toSession: (sessionId, event, payload) => sockets.io.to(sessionRoom(sessionId)).emit(event, payload),
    disconnectSession: (sessionId) => sockets.io.in(sessionRoom(sessionId)).disconnectSockets(true),
  });
  progress.attach((sessionId, learnerProgress) => sockets.io.to(sessionRoom(sessionId)).emit('progress:updated', learnerProgress));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    // Not serving: the read-only views and the claim must not outlive this attempt.
    bundlesView.release();
    await identities.dispose();
    await cluster?.leave();
    progressDb.close();
    claims.release();
    throw error;
  });
  status = 'ok';
  lab.startWarming();
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    http,
    lab,
    sessions,
    progress,
    metrics,
    observatory,
    execGate: env.execGate,
    runtime,
    recovery,
    instructorToken,
    hostUids: {
      first: hostUidOf(config.uidBase, identitySlots.firstSlot),
      last: hostUidOf(config.uidBase, identitySlots.firstSlot + config.maxSandboxes + SPARE_IDENTITIES) - 1,
    },
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    async close() {
      status = 'stopping';
      clearInterval(sessionSweeper);
      classroom.dispose();
      wiring?.dispose();
      budgetWatch.dispose();
      await lab.dispose();
      bundlesView.release();
      await identities.dispose();
      observatory.dispose();
      stopStallReports();
      await sockets.close();
      await cluster?.leave();
      http.closeAllConnections();
      progressDb.close();
      claims.release();
    },
  };
}
