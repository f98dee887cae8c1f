/**
 * Plain HTTP routes next to the socket: readiness for load balancers and scripts, and metrics
 * for Prometheus. socket.io handles its own path before these are reached.
 *
 * Both are for the operator, not for learners: the details (runc version, load, every counter)
 * help whoever attacks the lab. Anyone gets /healthz's status (a load balancer needs no more);
 * the details and /metrics need an allowed address (ISOLAB_METRICS_ALLOW, loopback by default)
 * or the bearer token ISOLAB_METRICS_TOKEN.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import { sameSecret } from '../secrets';
import { clientAddress, inSet } from '../transport/client-address';
import type { LeftoverReport } from '../sandbox/lab';
import type { LabMetrics } from './metrics';

export interface OperatorAccess {
  /** Addresses that may read everything. */
  allowed: BlockList;
  /** A bearer token that may read everything from anywhere. */
  token: string | undefined;
  trustedProxies: BlockList;
}

export interface Health {
  status: 'ok' | 'starting' | 'stopping';
  cgroupMode: string;
  runcVersion: string;
  sandboxes: number;
  maxSandboxes: number;
  acceptingNew: boolean;
  /** Closed sandboxes whose cgroups or processes teardown could not remove; counted in `sandboxes`. */
  leftovers: LeftoverReport;
}

export function createHttpHandler(health: () => Health, metrics: LabMetrics, access: OperatorAccess) {
  const isOperator = (request: IncomingMessage) => {
    const address = clientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], access.trustedProxies);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    return inSet(access.allowed, address) || (access.token !== undefined && bearer !== undefined && sameSecret(bearer, access.token));
  };
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method === 'GET' && path === '/healthz') {
      const full = health();
      const body = isOperator(request) ? full : { status: full.status };
      response.writeHead(full.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
      return;
    }
    if (request.method === 'GET' && path === '/metrics') {
      if (!isOperator(request)) {
        response.writeHead(403, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        response.end('/metrics is for the operator. Allow your monitoring address with ISOLAB_METRICS_ALLOW, or send "Authorization: Bearer <ISOLAB_METRICS_TOKEN>".\n');
        return;
      }
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      response.end(await metrics.registry.metrics());
      return;
    }
    if (!response.headersSent && !path.startsWith('/socket.io')) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('Not found. lab-server serves /healthz, /metrics and the socket.io endpoint.\n');
    }
  };
}
