/**
 * Plain HTTP routes next to the socket: readiness for load balancers and scripts, and metrics
 * for Prometheus. socket.io handles its own path before these are reached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LabMetrics } from './metrics';

export interface Health {
  status: 'ok' | 'starting' | 'stopping';
  cgroupMode: string;
  runcVersion: string;
  sandboxes: number;
  maxSandboxes: number;
  acceptingNew: boolean;
}

export function createHttpHandler(health: () => Health, metrics: LabMetrics) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method === 'GET' && path === '/healthz') {
      const body = health();
      response.writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
      return;
    }
    if (request.method === 'GET' && path === '/metrics') {
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
