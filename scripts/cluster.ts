/**
 * `npm run cluster` (after scripts/setup.sh): one class over three lab nodes on this machine, to
 * try it out: redis-server on 127.0.0.1:6390, lab-servers lab1-lab3 on 4001-4003 (each its own
 * state directory /run/isolab-labN, cgroup parent isolab-labN and class record
 * /var/lib/isolab/progress-labN.db), HAProxy on ISOLAB_PORT (3001) with a generated config, and
 * the web app on PORT (3000), which finds the lab on ISOLAB_PORT as usual. README "More than one
 * machine" says how the same pieces go on several machines.
 *
 * Ports: ISOLAB_REDIS_PORT (6390), ISOLAB_NODE_BASE_PORT (4001). Other ISOLAB_* variables
 * (limits, ISOLAB_CLASS_MAX_SANDBOXES, ISOLAB_INSTRUCTOR_TOKEN) reach every node. Ctrl-C stops
 * everything; each node closes its sandboxes first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startCluster } from '../bench/cluster/cluster';

const WEB_PORT = Number(process.env.PORT || 3000);
const ROUTER_PORT = Number(process.env.ISOLAB_PORT || 3001);
const REDIS_PORT = Number(process.env.ISOLAB_REDIS_PORT || 6390);
const NODE_BASE_PORT = Number(process.env.ISOLAB_NODE_BASE_PORT || 4001);
const NODES = 3;

async function main(): Promise<void> {
  // One instructor link for the whole class: every node must know the same token.
  const instructorToken = process.env.ISOLAB_INSTRUCTOR_TOKEN || randomBytes(24).toString('base64url');
  const dataDir = process.env.ISOLAB_DATA_DIR || '/var/lib/isolab';
  console.log(`▸ Starting redis-server (:${REDIS_PORT}), ${NODES} lab nodes (:${NODE_BASE_PORT}-${NODE_BASE_PORT + NODES - 1}) and HAProxy (:${ROUTER_PORT})`);
  const cluster = await startCluster({
    nodes: NODES,
    routerPort: ROUTER_PORT,
    redisPort: REDIS_PORT,
    nodePorts: Array.from({ length: NODES }, (_, i) => NODE_BASE_PORT + i),
    env: {
      ISOLAB_INSTRUCTOR_TOKEN: instructorToken,
      ISOLAB_LOG_LEVEL: process.env.ISOLAB_LOG_LEVEL || 'warn',
      ISOLAB_WARM_SANDBOXES: process.env.ISOLAB_WARM_SANDBOXES || 'auto',
      // The nodes accept sockets only from the web app's origin, wherever PORT put it.
      ISOLAB_PUBLIC_URL: process.env.ISOLAB_PUBLIC_URL || `http://localhost:${WEB_PORT}`,
    },
    nodeEnv: (i) => ({
      ISOLAB_STATE_DIR: `/run/isolab-lab${i + 1}`,
      ISOLAB_CGROUP_PARENT: `isolab-lab${i + 1}`,
      ISOLAB_PROGRESS_DB: `${dataDir}/progress-lab${i + 1}.db`,
    }),
  });

  console.log('▸ Starting the web app (scripts/start.ts --web-only)');
  const web = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--web-only'], {
    env: { ...process.env, PORT: String(WEB_PORT), ISOLAB_PORT: String(ROUTER_PORT) },
    stdio: 'inherit',
  });
  const publicUrl = process.env.ISOLAB_PUBLIC_URL ?? `http://localhost:${WEB_PORT}`;
  console.log(
    [
      '',
      `  The class runs on ${cluster.nodeIds.join(', ')} behind HAProxy on ${cluster.url}; Redis at ${cluster.redisUrl}.`,
      `  Instructor dashboard: ${publicUrl.replace(/\/$/, '')}/instructor#token=${instructorToken}`,
      '  The generated HAProxy config:',
      ...cluster.routerConfig.split('\n').map((line) => `    ${line}`),
    ].join('\n'),
  );

  let stopping = false;
  // A node that dies is the case the cluster is built for: say so, with its last words, and carry on.
  for (const id of cluster.nodeIds) {
    cluster.node(id).process.once('exit', (code, signal) => {
      if (!stopping) console.error(`✗ lab node ${id} stopped (${signal ?? `exit code ${code}`}); its learners move to the others.\n${cluster.node(id).output().split('\n').slice(-10).join('\n')}`);
    });
  }
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n▸ Stopping (${why}): every node closes its sandboxes first.`);
    web.kill('SIGTERM');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  web.once('exit', (code) => void stop(`the web app exited with code ${code}`));
}

main().catch((error: unknown) => {
  console.error(`\n✗ The cluster did not start: ${(error as Error).message}`);
  process.exit(1);
});
