/**
 * `npm run rootfs`: builds the sandbox rootfs once, into the data directory.
 *
 * Debian bookworm minbase plus the teaching tools, built with debootstrap, trimmed, given the
 * files the sandbox mounts over, and uid-shifted so that its files belong to the sandbox's root.
 * It is built next to the old one and swapped in at the end, so an interrupted build never
 * leaves a half-made rootfs behind. When the stamp matches, it does nothing.
 */
import { spawn } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig } from '../config';
import { SPARE_SYSFS_PATH } from '../runtime/oci-spec';
import { ROOTFS_MIRROR, ROOTFS_PACKAGES, ROOTFS_RECIPE_VERSION, ROOTFS_SUITE, rootfsPath, stampPath, stampProblem, type RootfsStamp } from './stamp';

/** debootstrap prints about this many progress lines for this recipe (measured: ~690). */
const EXPECTED_PROGRESS_LINES = 700;
/** debootstrap lives in /usr/sbin, which a non-login root shell may not have on its PATH. */
const SYSTEM_PATH = `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;
/** Paths emptied after the build: package caches and documentation nobody reads in a sandbox. */
const TRIMMED_PATHS = ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale'];

async function main(): Promise<void> {
  const config = loadConfig();
  const force = process.argv.includes('--force');
  const problem = stampProblem(config.dataDir, config.uidBase);
  if (!problem && !force) {
    console.log(`✓ The sandbox rootfs is up to date (${rootfsPath(config.dataDir)}).`);
    return;
  }
  if (process.getuid?.() !== 0) fail('Building the rootfs needs root (debootstrap and chown). Run it as root: sudo npm run rootfs');
  if (!(await commandExists('debootstrap'))) fail('debootstrap is not installed. Install it with: apt-get install -y debootstrap');

  console.log(force ? 'Rebuilding the sandbox rootfs (--force).' : `Building the sandbox rootfs: ${problem}.`);
  const target = rootfsPath(config.dataDir);
  const building = `${target}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(config.dataDir, { recursive: true });

  const started = performance.now();
  await debootstrap(building);
  customize(building);
  const shifted = shiftOwnership(building, config.uidBase);
  console.log(`  uid-shifted ${shifted} files to host uid ${config.uidBase} (root inside the sandbox)`);

  rmSync(target, { recursive: true, force: true });
  renameSync(building, target);
  const stamp: RootfsStamp = { recipe: ROOTFS_RECIPE_VERSION, suite: ROOTFS_SUITE, packages: ROOTFS_PACKAGES, uidBase: config.uidBase, builtAt: new Date().toISOString() };
  writeFileSync(stampPath(config.dataDir), JSON.stringify(stamp, null, 2) + '\n');
  console.log(`✓ Built the sandbox rootfs in ${((performance.now() - started) / 1000).toFixed(0)} s: ${target}`);
}

function debootstrap(target: string): Promise<void> {
  const args = ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, ROOTFS_SUITE, target, ROOTFS_MIRROR];
  const child = spawn('debootstrap', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: SYSTEM_PATH } });
  const progress = new ProgressBar(EXPECTED_PROGRESS_LINES);
  const recent: string[] = [];
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 30) recent.shift();
    const step = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) (\S+)/.exec(line);
    if (step) progress.tick(`${step[1]} ${step[2]}`);
    else if (line.startsWith('I: ')) progress.note(line.slice(3));
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      progress.finish();
      if (code === 0) return resolve();
      console.error(recent.join('\n'));
      reject(new Error(`debootstrap failed with exit code ${code}. The lines above show why; check that ${ROOTFS_MIRROR} is reachable.`));
    });
  });
}

/** The files and directories the sandbox's config mounts over, and the shell's welcome. */
function customize(root: string): void {
  for (const path of TRIMMED_PATHS) {
    rmSync(join(root, path), { recursive: true, force: true });
    mkdirSync(join(root, path), { recursive: true });
  }
  // Mount points must exist in a read-only rootfs: runc cannot create them later.
  mkdirSync(join(root, SPARE_SYSFS_PATH.slice(1)), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'sandbox\n');
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
  // Sandboxes have no network beyond loopback, so there is nothing to resolve names with.
  writeFileSync(join(root, 'etc/resolv.conf'), '# Isolab sandboxes have no network access.\n');
  writeFileSync(
    join(root, 'etc/profile.d/isolab.sh'),
    [
      '# Isolab: a short welcome for login shells in a sandbox.',
      'if [ -n "$PS1" ] && [ -n "$ISOLAB_SANDBOX" ] && [ -z "$ISOLAB_WELCOMED" ]; then',
      '  export ISOLAB_WELCOMED=1',
      "  printf 'Isolab sandbox %s: root here is not root on the host.\\n' \"$ISOLAB_SANDBOX\"",
      'fi',
      "alias ls='ls --color=auto'",
      "alias grep='grep --color=auto'",
      '',
    ].join('\n'),
  );
}

/**
 * Adds `base` to every file's uid and gid, so that root-owned files belong to the sandbox's root
 * (host uid `base`). chown clears setuid and setgid bits, so they are put back afterwards.
 */
function shiftOwnership(root: string, base: number): number {
  let count = 0;
  const visit = (path: string) => {
    const stat = lstatSync(path);
    lchownSync(path, stat.uid + base, stat.gid + base);
    if (!stat.isSymbolicLink() && stat.mode & 0o6000) chmodSync(path, stat.mode & 0o7777);
    count++;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(root);
  return count;
}

class ProgressBar {
  private done = 0;
  private lastPrinted = -1;
  private readonly interactive = Boolean(process.stdout.isTTY);

  constructor(private readonly expected: number) {}

  tick(label: string): void {
    this.done++;
    this.draw(label);
  }

  note(label: string): void {
    this.draw(label);
  }

  finish(): void {
    if (this.interactive) process.stdout.write('\n');
  }

  private draw(label: string): void {
    const percent = Math.min(99, Math.floor((this.done / this.expected) * 100));
    if (this.interactive) {
      const width = 30;
      const filled = Math.round((percent / 100) * width);
      process.stdout.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(2)}% ${label.slice(0, 40).padEnd(40)}`);
    } else if (percent >= this.lastPrinted + 10) {
      // In CI logs, a line every 10% is enough.
      this.lastPrinted = percent - (percent % 10);
      console.log(`  ${String(this.lastPrinted).padStart(2)}% ${label}`);
    }
  }
}

function commandExists(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `command -v ${command}`], { stdio: 'ignore', env: { PATH: SYSTEM_PATH } });
    child.on('close', (code) => resolve(code === 0));
  });
}

function fail(message: string): never {
  console.error(`✗ ${message}`);
  process.exit(1);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) fail(error.message);
  fail(error instanceof Error ? error.message : String(error));
});

