/**
 * Assembles a lab-server: runtime, lab, sessions, socket.io and HTTP routes. `main.ts` adds the
 * process concerns (config from the environment, signals, exit codes); tests and benchmarks call
 * this directly with a configuration of their own.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LabConfig } from './config';
import type { CgroupHost } from './cgroups/host';
import { createHttpHandler, type Health } from './http/routes';
import { LabMetrics } from './http/metrics';
import type { Logger } from './log';
import { rootfsPath } from './rootfs/stamp';
import { RuncRuntime } from './runtime/runc';
import type { ContainerRuntime } from './runtime/runtime';
import { Lab } from './sandbox/lab';
import { removeLeftovers, type RecoveryReport } from './sandbox/recovery';
import type { SandboxEnvironment } from './sandbox/sandbox';
import { MemorySessionStore, type SessionStore } from './session/session-store';
import { classroomHandlers } from './transport/classroom-handlers';
import { labHandlers } from './transport/lab-handlers';
import { observeHandlers } from './transport/observe-handlers';
import { createSocketServer } from './transport/socket-server';

export interface LabServerDeps {
  config: LabConfig;
  logger: Logger;
  cgroupHost: CgroupHost;
  swapAccounting: boolean;
  runcVersion: string;
  /** Defaults to runc with the lab's own state directory. */
  runtime?: ContainerRuntime;
  sessions?: SessionStore;
}

export interface LabServer {
  readonly http: HttpServer;
  readonly lab: Lab;
  readonly sessions: SessionStore;
  readonly metrics: LabMetrics;
  readonly runtime: ContainerRuntime;
  readonly recovery: RecoveryReport;
  /** The URL the server listens on, e.g. http://127.0.0.1:3001. */
  readonly url: string;
  close(): Promise<void>;
}

/** Sessions unseen for a day are forgotten, unless they still own a sandbox. */
const SESSION_MAX_IDLE_MS = 24 * 60 * 60 * 1000;

export async function startLabServer(deps: LabServerDeps): Promise<LabServer> {
  const { config, logger, cgroupHost } = deps;
  const runtime = deps.runtime ?? new RuncRuntime(config.runcPath, join(config.stateDir, 'runc'));
  const bundlesDir = join(config.stateDir, 'bundles');
  let status: Health['status'] = 'starting';

  const recovery = await removeLeftovers(runtime, cgroupHost, config.cgroupParent, bundlesDir, logger);

  const env: SandboxEnvironment = {
    runtime,
    cgroupHost,
    cgroupParent: config.cgroupParent,
    bundlesDir,
    rootfsPath: rootfsPath(config.dataDir),
    uidBase: config.uidBase,
    swapAccounting: deps.swapAccounting,
    limits: { memoryBytes: config.memoryLimit, pids: config.pidsLimit, cpus: config.cpuLimit, tmpfsBytes: config.tmpfsSize },
    maxTerminals: config.maxTerminalsPerSandbox,
    logger,
  };
  const metrics = new LabMetrics();
  const lab = new Lab(
    env,
    {
      maxSandboxes: config.maxSandboxes,
      maxSandboxesPerSession: config.maxSandboxesPerSession,
      graceMs: config.graceMs,
      idleMs: config.idleMs,
      maxLifetimeMs: config.maxLifetimeMs,
    },
    logger,
    metrics,
  );
  const sessions = deps.sessions ?? new MemorySessionStore();
  const sessionSweeper = setInterval(() => sessions.sweep(SESSION_MAX_IDLE_MS, (s) => lab.forSession(s.id).length > 0), 60 * 60 * 1000);
  sessionSweeper.unref();

  const health = (): Health => ({
    status,
    cgroupMode: cgroupHost.mode,
    runcVersion: deps.runcVersion,
    sandboxes: lab.size,
    maxSandboxes: config.maxSandboxes,
    acceptingNew: lab.acceptingNew,
  });
  const http = createServer(createHttpHandler(health, metrics));
  const sockets = createSocketServer(http, {
    allowedOrigins: config.allowedOrigins,
    lab,
    sessions,
    handlers: [labHandlers(lab, { checkTimeoutMs: config.checkTimeoutMs, metrics }), observeHandlers(lab), classroomHandlers(lab)],
    logger,
    metrics,
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  status = 'ok';
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    http,
    lab,
    sessions,
    metrics,
    runtime,
    recovery,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    async close() {
      status = 'stopping';
      clearInterval(sessionSweeper);
      await lab.dispose();
      await sockets.close();
      http.closeAllConnections();
    },
  };
}
