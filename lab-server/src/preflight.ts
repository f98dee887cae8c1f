/**
 * Startup checks. Each problem is a sentence that says what is wrong and what to do, with a code
 * an operator can search for. Errors stop startup; warnings are logged and startup goes on.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { LabConfig } from './config';
import { detectCgroupHost, findV1Hierarchy, missingControllers, type CgroupHost } from './cgroups/host';
import { stampProblem, rootfsPath } from './rootfs/stamp';
import { ensureNsHelper } from './runtime/ns-helper';
import { identitySlotsAvailable, SPARE_IDENTITIES } from './sandbox/identity';
import { ptysPerSandbox } from './runtime/oci-spec';

export interface Problem {
  level: 'error' | 'warn';
  code: string;
  message: string;
}

export interface HostFacts {
  runcPath?: string;
  runcVersion?: string;
  cgroupHost?: CgroupHost;
  swapAccounting: boolean;
}

/** The upstream release that fixed CVE-2024-21626 (leaked fds let a container reach the host filesystem). */
const RUNC_CVE_2024_21626_FIXED = [1, 1, 12];

export function preflight(config: LabConfig): { problems: Problem[]; facts: HostFacts } {
  const problems: Problem[] = [];
  const facts: HostFacts = { swapAccounting: false };
  const error = (code: string, message: string) => problems.push({ level: 'error', code, message });
  const warn = (code: string, message: string) => problems.push({ level: 'warn', code, message });

  if (process.getuid?.() !== 0) {
    error('NOT_ROOT', 'lab-server must run as root: it creates containers, user namespaces and cgroups. Start it with sudo (sudo npm start).');
  }

  facts.runcPath = resolveCommand(config.runcPath);
  if (!facts.runcPath) {
    error('RUNC_MISSING', `runc was not found (ISOLAB_RUNC="${config.runcPath}"). Install it with "apt-get install -y runc", or set ISOLAB_RUNC to its full path.`);
  } else {
    const version = safeExec(facts.runcPath, ['--version'], RUNC_VERSION_TIMEOUT_MS);
    facts.runcVersion = /runc version (\S+)/.exec(version.text)?.[1];
    if (version.timedOut) error('RUNC_BROKEN', `"${facts.runcPath} --version" did not answer within ${RUNC_VERSION_TIMEOUT_MS / 1000} s: the machine is too busy to start a lab, or runc hangs.`);
    else if (!facts.runcVersion) error('RUNC_BROKEN', `"${facts.runcPath} --version" did not answer like runc. Check that ISOLAB_RUNC points at runc.`);
    else if (!runcHasLeakyVesselsFix(facts.runcVersion, distroChangelog())) {
      warn(
        'RUNC_CVE_2024_21626',
        `runc ${facts.runcVersion} may lack the fix for CVE-2024-21626 (a container escape through leaked file descriptors). Upgrade runc to 1.1.12 or later, or your distribution's patched build.`,
      );
    }
  }

  // util-linux: prlimit starts runc under the sandboxes' rlimits; setsid gives runc its terminal (runtime/host-pty.ts).
  const missingTools = ['prlimit', 'setsid'].filter((tool) => !resolveCommand(tool));
  if (missingTools.length > 0) error('UTIL_LINUX_MISSING', `${missingTools.join(' and ')} not found: no sandbox can start without them. Install util-linux: apt-get install -y util-linux`);

  const problem = stampProblem(config.dataDir, config.uidBase);
  if (problem) error('ROOTFS_NOT_BUILT', `${capitalize(problem)}. Build it with "npm run rootfs" (about a minute, once).`);
  else if (!existsSync(rootfsPath(config.dataDir))) error('ROOTFS_NOT_BUILT', `The rootfs stamp exists but ${rootfsPath(config.dataDir)} is missing. Rebuild it with "npm run rootfs -- --force".`);

  try {
    const host = detectCgroupHost();
    facts.cgroupHost = host;
    const v2Controllers = host.mode === 'v2' ? readFileSync(join(host.unifiedMountpoint!, 'cgroup.controllers'), 'utf8').split(/\s+/) : [];
    const missing = missingControllers(host, v2Controllers);
    if (missing.length > 0) {
      error('CGROUP_CONTROLLERS', `The host's cgroups lack the ${missing.join(', ')} controller(s), so sandbox limits could not be enforced. Enable them in the kernel command line or your init system.`);
    }
    facts.swapAccounting = host.mode === 'v2' ? v2SwapAccounting(host.unifiedMountpoint!, readText('/proc/cmdline')) : existsSync(join(findV1Hierarchy(host, 'memory')?.mountpoint ?? '/nonexistent', 'memory.memsw.limit_in_bytes'));
    if (!facts.swapAccounting) {
      warn('SWAP_ACCOUNTING', 'The kernel does not account swap per cgroup, so sandboxes could swap instead of being OOM-killed. Boot with swapaccount=1, or run without swap.');
    }
  } catch (cause) {
    error('CGROUPS_UNREADABLE', `Could not read the host's cgroup mounts (${(cause as Error).message}). Is /sys/fs/cgroup mounted?`);
  }

  const maxUserNamespaces = readNumber('/proc/sys/user/max_user_namespaces');
  if (maxUserNamespaces === 0) {
    error('USERNS_DISABLED', 'User namespaces are disabled (user.max_user_namespaces = 0). Enable them: sysctl -w user.max_user_namespaces=15000');
  }
  if (readNumber('/proc/sys/kernel/unprivileged_userns_clone') === 0) {
    error('USERNS_CLONE_DISABLED', 'Nested user namespaces are disabled (kernel.unprivileged_userns_clone = 0), so "unshare -U" would fail in the lessons. Enable them: sysctl -w kernel.unprivileged_userns_clone=1');
  }
  if (readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === 1) {
    error(
      'APPARMOR_USERNS',
      'AppArmor restricts user namespaces on this host (Ubuntu 23.10 or later), which breaks "unshare -U" inside sandboxes. Allow them: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (and put it in /etc/sysctl.d/ to keep it).',
    );
  }

  try {
    const stats = statfsSync(existsSync(config.dataDir) ? config.dataDir : '/');
    const freeMiB = (stats.bavail * stats.bsize) / 1024 / 1024;
    if (freeMiB < 200) warn('DISK_LOW', `Only ${Math.round(freeMiB)} MiB are free for ${config.dataDir}. Free some space; the lab needs room for sandbox bundles and logs.`);
  } catch {
    // statfs is informative only.
  }

  // Each sandbox runs as a host uid range of its own (sandbox/identity.ts), made with isolab-ns.
  const identities = identitySlotsAvailable(config.uidBase);
  if (identities < config.maxSandboxes + SPARE_IDENTITIES) {
    error(
      'UID_RANGE',
      `ISOLAB_UID_BASE=${config.uidBase} leaves room for ${identities} sandbox uid ranges of 65536 below the last host uid, and ISOLAB_MAX_SANDBOXES=${config.maxSandboxes} needs ${config.maxSandboxes + SPARE_IDENTITIES}. Lower one of them.`,
    );
  }
  try {
    ensureNsHelper();
  } catch (cause) {
    error('NS_HELPER', (cause as Error).message);
  }

  const ptyProblem = ptyBudgetProblem(config, readNumber('/proc/sys/kernel/pty/max'), readNumber('/proc/sys/kernel/pty/reserve') ?? 0);
  if (ptyProblem) warn('PTY_BUDGET', ptyProblem);

  return { problems, facts };
}

/**
 * Every sandbox's /dev/pts draws from one host-wide pool: kernel.pty.max minus the ptys kept for
 * the host's own /dev/pts (kernel.pty.reserve). Each sandbox may hold ptysPerSandbox of them.
 */
export function ptyBudgetProblem(config: Pick<LabConfig, 'maxSandboxes' | 'maxTerminalsPerSandbox'>, ptyMax: number | undefined, ptyReserve: number): string | undefined {
  const perSandbox = ptysPerSandbox(config.maxTerminalsPerSandbox);
  const needed = config.maxSandboxes * perSandbox;
  if (ptyMax === undefined || ptyMax - ptyReserve >= needed) return undefined;
  return (
    `kernel.pty.max is ${ptyMax}, and ${ptyReserve} of those are kept for the host, so sandboxes share ${ptyMax - ptyReserve} pseudo-terminals; ` +
    `${config.maxSandboxes} sandboxes with up to ${perSandbox} each need ${needed}, and beyond that new terminals fail. ` +
    `Raise it: sysctl -w kernel.pty.max=${needed + ptyReserve} (and put it in /etc/sysctl.d/ to keep it), or lower ISOLAB_MAX_SANDBOXES.`
  );
}

/** True if runc `version` is at least 1.1.12, or the distribution's changelog says it patched the CVE. */
export function runcHasLeakyVesselsFix(version: string, changelog: string): boolean {
  if (/CVE-2024-21626/.test(changelog)) return true;
  const parts = /^(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number);
  if (!parts) return false;
  for (let i = 0; i < 3; i++) {
    if (parts[i] !== RUNC_CVE_2024_21626_FIXED[i]) return parts[i] > RUNC_CVE_2024_21626_FIXED[i];
  }
  return true;
}

/**
 * Whether cgroup v2 accounts swap per cgroup. The kernel shows memory.swap.max only in non-root
 * cgroups that have the memory controller, and only when it accounts swap (not with swapaccount=0,
 * nor without swap support), so a child of the root that has memory.current tells. A host with
 * no such child yet (the lab enables memory for its own parent later) is judged by its command line.
 */
export function v2SwapAccounting(mountpoint: string, cmdline: string): boolean {
  for (const entry of readdirSync(mountpoint, { withFileTypes: true })) {
    if (entry.isDirectory() && existsSync(join(mountpoint, entry.name, 'memory.current'))) return existsSync(join(mountpoint, entry.name, 'memory.swap.max'));
  }
  return existsSync('/proc/swaps') && !/(^|\s)swapaccount=0(\s|$)/.test(cmdline);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function distroChangelog(): string {
  try {
    return gunzipSync(readFileSync('/usr/share/doc/runc/changelog.Debian.gz')).toString('utf8');
  } catch {
    return '';
  }
}

function resolveCommand(command: string): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return undefined;
}

/**
 * How long `runc --version` may take. It answers in milliseconds, but on a starved host (a busy
 * box, an emulated CPU) starting a Go binary has taken over 5 s, and preflight refused a working runc.
 */
const RUNC_VERSION_TIMEOUT_MS = 30_000;

function safeExec(file: string, args: string[], timeoutMs: number): { text: string; timedOut: boolean } {
  try {
    return { text: execFileSync(file, args, { encoding: 'utf8', timeout: timeoutMs }), timedOut: false };
  } catch (error) {
    return { text: '', timedOut: (error as NodeJS.ErrnoException).code === 'ETIMEDOUT' };
  }
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
