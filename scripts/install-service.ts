/**
 * `npm run install-service -- --url https://lab.school [--tls internal]`: installs the lab as
 * systemd services that start at boot and restart on failure.
 *
 * - isolab-lab.service: lab-server, as root (runc and cgroups need it); a stop closes every sandbox.
 * - isolab-web.service: the web app, as the unprivileged system user isolab-web.
 * - isolab-caddy.service: Caddy with deploy/Caddyfile, as Debian's caddy user: one HTTPS origin.
 *
 * Settings go to /etc/isolab/{lab,web,caddy}.env, written only when missing, so a reinstall
 * keeps the operator's edits (and the instructor token). `--root DIR` writes every file under DIR
 * and stops there (no packages, build, users or systemctl): the tests check the units that way.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { JEMALLOC_PATH } from '../lab-server/src/launch';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const UNITS = ['isolab-lab.service', 'isolab-web.service', 'isolab-caddy.service'];
const WEB_USER = 'isolab-web';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    tls: { type: 'string', default: 'auto' },
    root: { type: 'string', default: '/' },
    'web-port': { type: 'string', default: '3000' },
    'lab-port': { type: 'string', default: '3001' },
  },
});

function fail(message: string): never {
  console.error(`✗ ${message}`);
  process.exit(1);
}

function run(command: string, commandArgs: string[], what: string): void {
  console.log(`▸ ${what}`);
  const result = spawnSync(command, commandArgs, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) fail(`${what} failed (${command} ${commandArgs.join(' ')} exited ${result.status ?? result.signal})`);
}

/** Writes `path` under the install root; `keep` leaves an existing file (the operator's) alone. */
function install(path: string, content: string, options: { mode?: number; keep?: boolean } = {}): void {
  const target = join(args.root, path);
  if (options.keep && existsSync(target)) {
    console.log(`  kept ${path} (already there)`);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content, { mode: options.mode ?? 0o644 });
  chmodSync(target, options.mode ?? 0o644);
  console.log(`  wrote ${path}`);
}

function main(): void {
  const url = args.url ?? process.env.ISOLAB_PUBLIC_URL;
  if (!url || !/^https:\/\/[^/]+\/?$/.test(url)) fail('Give the address learners will open: npm run install-service -- --url https://lab.school');
  if (!['auto', 'internal'].includes(args.tls)) fail('--tls is "auto" (Let\'s Encrypt for a public name) or "internal" (Caddy\'s own CA, for a LAN)');
  const origin = new URL(url).origin;
  const dryRun = args.root !== '/';
  if (!dryRun) {
    if (process.getuid?.() !== 0) fail('Installing services needs root: sudo npm run install-service -- --url ' + origin);
    if (!existsSync('/run/systemd/system')) fail('systemd is not running on this machine, so there is nothing to install the services into. Use `npm start -- --caddy` instead.');
    run('bash', ['scripts/setup.sh'], 'Installing packages and the sandbox rootfs');
    // As `npm run build`: the lesson page's head start script first (scripts/build-head-start.ts), then Next.
    run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build-head-start.ts')], "Building the lesson page's head start script");
    run(process.execPath, [join(ROOT, 'node_modules/next/dist/bin/next'), 'build'], 'Building the web app');
    if (spawnSync('id', ['-u', WEB_USER], { stdio: 'ignore' }).status !== 0) {
      run('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', WEB_USER], `Adding the system user ${WEB_USER}`);
    }
    mkdirSync(join(ROOT, '.next/cache'), { recursive: true });
    run('chown', ['-R', `${WEB_USER}:${WEB_USER}`, join(ROOT, '.next/cache')], `Giving ${WEB_USER} the web app's cache`);
  }

  console.log('▸ Writing the configuration and the units');
  const instructorToken = randomBytes(32).toString('base64url');
  install(
    'etc/isolab/lab.env',
    [
      '# lab-server (isolab-lab.service). Every variable is in the README, under Configuration.',
      `ISOLAB_PUBLIC_URL=${origin}`,
      'ISOLAB_HOST=127.0.0.1',
      `ISOLAB_PORT=${args['lab-port']}`,
      '# Caddy on this machine forwards the learners\' own addresses.',
      'ISOLAB_TRUSTED_PROXIES=127.0.0.1,::1',
      `ISOLAB_INSTRUCTOR_TOKEN=${instructorToken}`,
      '# Learners enter this code once before they get a sandbox (or set one from the dashboard).',
      '#ISOLAB_CLASS_CODE=',
      '# A class behind one school NAT is one address: raise these to the class size.',
      '#ISOLAB_MAX_SANDBOXES=150',
      '#ISOLAB_MAX_SANDBOXES_PER_ADDRESS=150',
      '',
    ].join('\n'),
    // The instructor token is in here.
    { mode: 0o600, keep: true },
  );
  install('etc/isolab/web.env', [`PORT=${args['web-port']}`, `ISOLAB_PORT=${args['lab-port']}`, ''].join('\n'), { keep: true });
  install(
    'etc/isolab/caddy.env',
    [`ISOLAB_SITE=${origin}`, `ISOLAB_TLS=${args.tls}`, `ISOLAB_WEB_UPSTREAM=127.0.0.1:${args['web-port']}`, `ISOLAB_LAB_UPSTREAM=127.0.0.1:${args['lab-port']}`, ''].join('\n'),
    { keep: true },
  );
  // The caddy user cannot be expected to read the checkout; it reads this copy.
  mkdirSync(join(args.root, 'etc/isolab'), { recursive: true });
  copyFileSync(join(ROOT, 'deploy/Caddyfile'), join(args.root, 'etc/isolab/Caddyfile'));
  for (const unit of UNITS) {
    const text = readFileSync(join(ROOT, 'deploy/systemd', unit), 'utf8').replaceAll('@ROOT@', ROOT).replaceAll('@NODE@', process.execPath).replaceAll('@JEMALLOC@', JEMALLOC_PATH);
    install(`etc/systemd/system/${unit}`, text);
  }
  if (dryRun) return;

  // Debian's own caddy.service serves a placeholder on port 80; isolab-caddy takes its place.
  spawnSync('systemctl', ['disable', '--now', 'caddy.service'], { stdio: 'ignore' });
  run('systemctl', ['daemon-reload'], 'Reloading systemd');
  run('systemctl', ['enable', '--now', ...UNITS], 'Starting the lab (and at every boot)');
  const token = /^ISOLAB_INSTRUCTOR_TOKEN=(.+)$/m.exec(readFileSync('/etc/isolab/lab.env', 'utf8'))?.[1];
  console.log(
    [
      '',
      `  Isolab runs at ${origin}`,
      token ? `  Instructor dashboard: ${origin}/instructor#token=${token}  (keep it private)` : '',
      '  Settings: /etc/isolab/lab.env (then: systemctl restart isolab-lab)',
      '  Logs: journalctl -u isolab-lab -u isolab-web -u isolab-caddy -f',
      '',
    ].join('\n'),
  );
}

main();
