/**
 * `npm run install-service` writes systemd units that systemd accepts, settings lab-server
 * accepts, and a Caddy configuration Caddy accepts. It runs with `--root`, so it writes under a
 * temporary directory and starts nothing: this machine's systemd is never touched. Where
 * `systemd-analyze` or `caddy` is missing the check says so and is skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lab-server/src/config';
import { LAB_SERVER_ARGS, LAB_SERVER_ENV } from '../lab-server/src/launch';

const UNITS = ['isolab-lab.service', 'isolab-web.service', 'isolab-caddy.service'];
let root: string;
const unitsDir = () => join(root, 'etc/systemd/system');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const envFile = (path: string) => Object.fromEntries(read(path).split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
const installService = () =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/install-service.ts', '--root', root, '--url', 'https://lab.school', '--tls', 'internal'], { encoding: 'utf8' });
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'isolab-install-'));
  const result = installService();
  expect(result.status, result.stderr).toBe(0);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('npm run install-service', () => {
  it('installs lab-server as root and the web app as an unprivileged user, restarting on failure and starting at boot', () => {
    const [lab, web, caddy] = UNITS.map((unit) => read(`etc/systemd/system/${unit}`));
    expect(lab).not.toMatch(/^User=/m);
    expect(web).toMatch(/^User=isolab-web$/m);
    expect(caddy).toMatch(/^User=caddy$/m);
    for (const unit of [lab, web, caddy]) {
      expect(unit).toMatch(/^Restart=on-failure$/m);
      expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
      expect(unit).not.toContain('@ROOT@');
    }
    // A stop is SIGTERM to lab-server alone, which closes every sandbox before it exits.
    expect(lab).toMatch(/^KillMode=mixed$/m);
  });

  it('starts lab-server as `npm start` does: the same node flags and malloc settings (lab-server/src/launch.ts)', () => {
    const lab = read('etc/systemd/system/isolab-lab.service');
    expect(/^ExecStart=(.*)$/m.exec(lab)?.[1]).toBe(`${process.execPath} ${LAB_SERVER_ARGS.join(' ')}`);
    for (const [name, value] of Object.entries(LAB_SERVER_ENV)) expect(lab).toContain(`\nEnvironment=${name}=${value}\n`);
  });

  it('writes settings lab-server accepts, with the instructor token readable by root only', () => {
    const lab = envFile('etc/isolab/lab.env');
    const config = loadConfig(lab);
    expect(config.publicUrl).toBe('https://lab.school');
    expect(config.allowedOrigins).toEqual(['https://lab.school']);
    expect(config.trustedProxies).toEqual(['127.0.0.1', '::1']);
    expect(config.instructorToken).toHaveLength(43);
    expect(statSync(join(root, 'etc/isolab/lab.env')).mode & 0o777).toBe(0o600);
    expect(envFile('etc/isolab/web.env')).toEqual({ PORT: '3000', ISOLAB_PORT: '3001' });
  });

  it('keeps the operator’s settings (and the instructor token) when installed again', () => {
    const before = read('etc/isolab/lab.env');
    writeFileSync(join(root, 'etc/isolab/lab.env'), `${before}ISOLAB_MAX_SANDBOXES=150\n`);
    expect(installService().status).toBe(0);
    expect(read('etc/isolab/lab.env')).toBe(`${before}ISOLAB_MAX_SANDBOXES=150\n`);
  });

  it.skipIf(!has('systemd-analyze'))('has units that `systemd-analyze verify` accepts (and it does refuse a broken one)', () => {
    const verify = (paths: string[]) => spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8' });
    const ours = verify(UNITS.map((unit) => join(unitsDir(), unit)));
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    const broken = join(unitsDir(), 'isolab-broken.service');
    writeFileSync(broken, read('etc/systemd/system/isolab-lab.service').replace(/^ExecStart=.*$/m, 'ExecStart=/nonexistent/node'));
    expect(verify([broken]).status).not.toBe(0);
  });

  it.skipIf(!has('caddy'))('has a Caddy configuration that `caddy validate` accepts', () => {
    const result = spawnSync('caddy', ['validate', '--config', join(root, 'etc/isolab/Caddyfile'), '--adapter', 'caddyfile'], {
      encoding: 'utf8',
      env: { ...process.env, ...envFile('etc/isolab/caddy.env'), XDG_DATA_HOME: root, XDG_CONFIG_HOME: root },
    });
    expect(result.stdout + result.stderr).toContain('Valid configuration');
    expect(result.status).toBe(0);
  });
});
