/**
 * `npm start` (after scripts/setup.sh): brings up the whole lab with one command.
 *
 * 1. Starts lab-server (`tsx lab-server/src/main.ts`, with lab-server/src/launch.ts's flags) as root: it alone needs root, for runc and
 *    cgroups.
 * 2. Meanwhile builds the web app if there is no build, or if any of its sources is newer than it.
 * 3. Starts the web app (`next start`) as the unprivileged user `nobody`, so a bug in the web
 *    tier cannot become root on the host. If `nobody` cannot read the checkout (say it lives in
 *    a private home directory), it falls back to root and says why.
 * 4. Waits until both answer, prints the URL, and forwards Ctrl-C / SIGTERM to both, so that
 *    lab-server closes every sandbox before it exits.
 *
 * With `--caddy` (`npm start -- --caddy`) it also runs Caddy with deploy/Caddyfile in front of
 * both, on ISOLAB_PUBLIC_URL (say https://lab.school): one HTTPS origin, the socket under its
 * /socket.io/ path. The web app and lab-server then listen on loopback only, and lab-server
 * believes the X-Forwarded-For of loopback (ISOLAB_TRUSTED_PROXIES), i.e. of Caddy.
 *
 * With `--web-only` it starts the web app alone, for a lab that runs elsewhere on ISOLAB_PORT:
 * `npm run cluster` (scripts/cluster.ts) puts its router there.
 *
 * If any process fails to start it exits non-zero with that process's own message (e.g. "Port
 * 3001 is busy"). Ports and paths come from the environment: PORT (web, 3000), ISOLAB_PORT
 * (lab-server, 3001), ISOLAB_NEXT_DIST (build directory, .next), and lab-server's ISOLAB_*
 * variables (lab-server/src/config.ts). The browser tests run this same script on other ports.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_SERVER_ARGS, labServerEnv } from '../lab-server/src/launch';
import { buildHeadStart, HEAD_START_OUTPUT } from './build-head-start';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const WEB_PORT = Number(process.env.PORT || 3000);
const LAB_PORT = Number(process.env.ISOLAB_PORT || 3001);
const DIST_DIR = process.env.ISOLAB_NEXT_DIST || '.next';
const NEXT_BIN = join(ROOT, 'node_modules/next/dist/bin/next');
/** Everything a web build is made from; a newer file here means the build is stale. */
const WEB_SOURCES = ['app', 'proxy.ts', 'instrumentation-client.ts', 'components', 'lib', 'protocol', 'lessons', 'public', 'next.config.js', 'postcss.config.mjs', 'tsconfig.json', 'package-lock.json'];
const READY_TIMEOUT_MS = 60_000;
const UNPRIVILEGED = { user: 'nobody', group: 'nogroup' } as const;
const BEHIND_CADDY = process.argv.includes('--caddy');
const WEB_ONLY = process.argv.includes('--web-only');
const CADDYFILE = join(ROOT, 'deploy/Caddyfile');

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const tag = (name: string, colour: number) => (process.stdout.isTTY ? `\x1b[${colour}m[${name}]\x1b[0m` : `[${name}]`);

interface Managed {
  name: string;
  child: ChildProcess;
  /** The last lines it wrote to stderr, for the failure message. */
  stderrTail: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<Managed>();
let shuttingDown = false;

function start(name: string, colour: number, command: string, args: string[], env: NodeJS.ProcessEnv): Managed {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const managed: Managed = {
    name,
    child,
    stderrTail: [],
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  const prefix = tag(name, colour);
  const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream, keep: boolean) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        out.write(`${prefix} ${line}\n`);
        if (keep && line.trim()) managed.stderrTail = [...managed.stderrTail.slice(-15), line];
      }
    });
  };
  relay(child.stdout!, process.stdout, false);
  relay(child.stderr!, process.stderr, true);
  running.add(managed);
  void managed.exited.then(() => running.delete(managed));
  return managed;
}

/** Whether something already accepts connections on 127.0.0.1:port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolves when `url` answers 2xx; rejects if the process exits first or time runs out. When
 * the port was taken before the process started, an answer would come from someone else (say,
 * a lab already running), so then it only waits for the process to fail and report why.
 */
async function waitUntilReady(managed: Managed, url: string, portWasTaken: boolean, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void managed.exited.then(() => (exited = true));
  if (portWasTaken) {
    await Promise.race([managed.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    throw new StartError(managed, `could not take port ${new URL(url).port}, which something else is already using`);
  }
  while (Date.now() < deadline) {
    if (exited) throw new StartError(managed, 'exited while starting');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new StartError(managed, `did not answer at ${url} within ${timeoutMs / 1000} s`);
}

class StartError extends Error {
  constructor(
    readonly managed: Managed,
    what: string,
  ) {
    super(`${managed.name} ${what}`);
  }
}

/** The newest modification time under the given paths (files and directories, recursively). */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (path: string) => {
    let stats;
    try {
      stats = statSync(path);
    } catch {
      return;
    }
    newest = Math.max(newest, stats.mtimeMs);
    if (stats.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  for (const path of paths) visit(join(ROOT, path));
  return newest;
}

function buildIsStale(): string | undefined {
  const buildId = join(ROOT, DIST_DIR, 'BUILD_ID');
  if (!existsSync(buildId)) return `no build in ${DIST_DIR}/ yet`;
  if (!existsSync(HEAD_START_OUTPUT)) return 'the lesson page’s head start script is missing';
  if (newestMtime(WEB_SOURCES) > statSync(buildId).mtimeMs) return 'its sources changed since the last build';
  return undefined;
}

/**
 * Builds as the user running this script (root under `npm start`): the build writes into the
 * checkout, which root owns. Only the long-running server drops privileges.
 */
async function buildWebApp(reason: string): Promise<void> {
  console.log(`${bold('▸ Building the web app')} (${reason}; this takes a minute or two)`);
  await buildHeadStart();
  const build = start('build', 35, process.execPath, [NEXT_BIN, 'build'], { ...process.env, NEXT_TELEMETRY_DISABLED: '1' });
  const { code } = await build.exited;
  if (code !== 0) throw new StartError(build, `failed (exit code ${code}); the lines above say which file and why`);
}

/**
 * How to run `next start` without root: setpriv to nobody, with a cache directory it may write
 * and a home of its own. Returns undefined (run as the current user) when that cannot work,
 * and says why.
 */
function unprivilegedWrapper(): { command: string; prefix: string[]; env: NodeJS.ProcessEnv } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const setpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' });
  if (setpriv.error || setpriv.status !== 0) {
    console.warn('! setpriv is missing (util-linux), so the web app runs as root. Install util-linux to run it as nobody.');
    return undefined;
  }
  const uid = Number(spawnSync('id', ['-u', UNPRIVILEGED.user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('getent', ['group', UNPRIVILEGED.group], { encoding: 'utf8' }).stdout.split(':')[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    console.warn(`! There is no user ${UNPRIVILEGED.user}:${UNPRIVILEGED.group} here, so the web app runs as root.`);
    return undefined;
  }
  const prefix = ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--'];
  // nobody must be able to read the build and node_modules, i.e. traverse every parent directory.
  const probe = spawnSync('setpriv', [...prefix, process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(join(ROOT, DIST_DIR, 'BUILD_ID'))}); require(${JSON.stringify(NEXT_BIN.replace(/bin\/next$/, 'server/next.js'))})`], {
    stdio: 'ignore',
  });
  if (probe.status !== 0) {
    console.warn(`! ${UNPRIVILEGED.user} cannot read ${ROOT} (a parent directory is private?), so the web app runs as root. Move the checkout somewhere world-readable to run it unprivileged.`);
    return undefined;
  }
  // Next writes its image and fetch caches under <dist>/cache; give that (only) to nobody.
  const cacheDir = join(ROOT, DIST_DIR, 'cache');
  mkdirSync(cacheDir, { recursive: true });
  chownTree(cacheDir, uid, gid);
  const home = `/tmp/isolab-web-${uid}`;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chownSync(home, uid, gid);
  return { command: 'setpriv', prefix, env: { HOME: home } };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

async function stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const managed of running) managed.child.kill(signal);
  const timer = setTimeout(() => {
    for (const managed of running) managed.child.kill('SIGKILL');
  }, 15_000);
  await Promise.all([...running].map((managed) => managed.exited));
  clearTimeout(timer);
}

let failing = false;

/** Prints why startup failed, stops whatever did start, and exits 1. Never resolves. */
function failed(error: unknown): Promise<never> {
  if (!failing) {
    failing = true;
    const lines = [`\n✗ Isolab did not start: ${(error as Error).message}.`];
    if (error instanceof StartError && error.managed.stderrTail.length > 0) {
      lines.push(`  ${error.managed.name} said:`, ...error.managed.stderrTail.slice(-6).map((line) => `    ${line}`));
    }
    console.error(lines.join('\n'));
    void stopAll().then(() => process.exit(1));
  }
  return new Promise<never>(() => undefined);
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (shuttingDown) return;
      shuttingDown = true;
      console.log(`\n${bold('▸ Stopping')} (${signal}): lab-server closes every sandbox first.`);
      void stopAll('SIGTERM').then(() => process.exit(0));
    });
  }

  const webOrigin = `http://localhost:${WEB_PORT}`;
  const publicUrl = process.env.ISOLAB_PUBLIC_URL ?? webOrigin;
  if (BEHIND_CADDY) checkCaddySetup(publicUrl);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ISOLAB_PORT: String(LAB_PORT),
    // lab-server accepts sockets only from the web app's origin; keep the two in step.
    ISOLAB_PUBLIC_URL: publicUrl,
    NEXT_TELEMETRY_DISABLED: '1',
    // Behind Caddy only Caddy faces the network, and lab-server believes what Caddy forwards.
    ...(BEHIND_CADDY ? { ISOLAB_HOST: process.env.ISOLAB_HOST ?? '127.0.0.1', ISOLAB_TRUSTED_PROXIES: process.env.ISOLAB_TRUSTED_PROXIES ?? '127.0.0.1,::1' } : {}),
  };

  let lab: Managed | undefined;
  let labReady = Promise.resolve();
  if (!WEB_ONLY) {
    console.log(bold('▸ Starting lab-server'));
    const labPortTaken = await portAnswers(LAB_PORT);
    // Node's flags and the allocator that keep its memory flat under a class (lab-server/src/launch.ts).
    lab = start('lab', 36, process.execPath, [...LAB_SERVER_ARGS], { ...labServerEnv(), ...env });
    labReady = waitUntilReady(lab, `http://127.0.0.1:${LAB_PORT}/healthz`, labPortTaken);
    // Surface a failed lab-server at once, even while the build is still running.
    labReady.catch(failed);
  }

  const stale = buildIsStale();
  if (stale) await buildWebApp(stale).catch(failed);
  else console.log(`${bold('▸ Web app build is up to date')} (${DIST_DIR}/)`);
  await labReady;

  const webPortTaken = await portAnswers(WEB_PORT);
  const wrapper = unprivilegedWrapper();
  console.log(`${bold('▸ Starting the web app')}${wrapper ? ` as ${UNPRIVILEGED.user}` : ''}`);
  const nextArgs = [NEXT_BIN, 'start', '--port', String(WEB_PORT), ...(BEHIND_CADDY ? ['--hostname', '127.0.0.1'] : [])];
  const web = wrapper
    ? start('web', 32, wrapper.command, [...wrapper.prefix, process.execPath, ...nextArgs], { ...env, ...wrapper.env, NODE_ENV: 'production' })
    : start('web', 32, process.execPath, nextArgs, { ...env, NODE_ENV: 'production' });
  await waitUntilReady(web, `http://127.0.0.1:${WEB_PORT}/api/lab-config`, webPortTaken).catch(failed);
  const caddy = BEHIND_CADDY ? await startCaddy(publicUrl).catch(failed) : undefined;

  console.log(
    [
      '',
      bold('  Isolab is running.'),
      `  Open ${bold(publicUrl)} in a browser.`,
      caddy
        ? `  (Caddy on ${publicUrl} in front of the web app on 127.0.0.1:${WEB_PORT} and lab-server on 127.0.0.1:${LAB_PORT}; Ctrl-C stops all three)`
        : `  (web app on port ${WEB_PORT}, lab-server on port ${LAB_PORT}; Ctrl-C stops both)`,
      caddy ? '' : '  Learners on other machines: set ISOLAB_PUBLIC_URL to the address they use, e.g. http://lab.example:3000, or serve it over HTTPS with --caddy.',
      '',
    ].join('\n'),
  );

  // If any one dies on its own, take the others down too: half a lab only confuses learners.
  const first = await Promise.race([...(lab ? [lab] : []), web, ...(caddy ? [caddy] : [])].map((managed) => managed.exited.then((result) => ({ managed, result }))));
  if (shuttingDown) return;
  console.error(`\n✗ ${first.managed.name} stopped unexpectedly (${first.result.signal ?? `exit code ${first.result.code}`}); stopping the rest.`);
  await stopAll();
  process.exit(1);
}

/** Stops before anything starts when --caddy cannot work: no caddy, or no HTTPS public URL. */
function checkCaddySetup(publicUrl: string): void {
  const problems: string[] = [];
  if (spawnSync('caddy', ['version'], { stdio: 'ignore' }).status !== 0) problems.push('caddy is not installed: apt-get install -y caddy (scripts/setup.sh does this)');
  if (!publicUrl.startsWith('https://')) problems.push(`ISOLAB_PUBLIC_URL must be the https:// address learners open, e.g. https://lab.school (it is ${publicUrl})`);
  if (problems.length === 0) return;
  console.error(`\n✗ Isolab cannot start behind Caddy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}

/**
 * Runs Caddy with deploy/Caddyfile in front of both, and resolves once it accepts connections on
 * the public URL's port. Its certificates and CA live in ISOLAB_CADDY_DATA (default
 * /var/lib/isolab/caddy), so a restart keeps them.
 */
async function startCaddy(publicUrl: string): Promise<Managed> {
  const url = new URL(publicUrl);
  const port = Number(url.port || 443);
  const dataDir = process.env.ISOLAB_CADDY_DATA || join(process.env.ISOLAB_DATA_DIR || '/var/lib/isolab', 'caddy');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  console.log(`${bold('▸ Starting Caddy')} on ${url.origin}`);
  const portTaken = await portAnswers(port);
  const caddy = start('caddy', 33, 'caddy', ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
    ...process.env,
    ISOLAB_SITE: url.origin,
    ISOLAB_WEB_UPSTREAM: `127.0.0.1:${WEB_PORT}`,
    ISOLAB_LAB_UPSTREAM: `127.0.0.1:${LAB_PORT}`,
    XDG_DATA_HOME: dataDir,
    XDG_CONFIG_HOME: dataDir,
  });
  if (portTaken) throw new StartError(caddy, `could not take port ${port}, which something else is already using`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void caddy.exited.then(() => (exited = true));
  while (!(await portAnswers(port))) {
    if (exited) throw new StartError(caddy, 'exited while starting');
    if (Date.now() > deadline) throw new StartError(caddy, `did not listen on port ${port} within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return caddy;
}

main().catch((error: unknown) => {
  // A StartError has already been reported by failed(); anything else is a bug in this script.
  if (!(error instanceof StartError)) void failed(error);
});
