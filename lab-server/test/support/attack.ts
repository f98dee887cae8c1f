/**
 * Helpers for the adversarial suite: run an attack script inside a sandbox (as a check, without a
 * tty), and look at the result from the host side, where the learner cannot tamper with it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import { posix } from 'node:path';
import { MAX_CHECK_TIMEOUT_MS, type CheckResult } from '../../../protocol';
import type { LabClient } from '../../../lib/lab-client';
import { cgroupPids } from '../../src/cgroups/sandbox-cgroup';
import { bound } from './slowdown';
import { sandboxById, type TestLab } from './test-lab';

/** Runs `script` with bash inside the sandbox, as root there, and returns what happened (`timeoutMs` on a real host, see slowdown.ts). */
export function attack(client: LabClient, sandboxId: string, script: string, timeoutMs = 20_000): Promise<CheckResult> {
  return client.request('check:run', { sandboxId, command: script, timeoutMs: Math.min(bound(timeoutMs), MAX_CHECK_TIMEOUT_MS) }, bound(timeoutMs + 10_000));
}

/** A bash line that runs a Perl program: Perl is in the rootfs and makes raw syscalls and sockets. */
export function perl(program: string, ...args: string[]): string {
  return `perl - ${args.map((a) => `'${a}'`).join(' ')} <<'ISOLAB_PERL'\n${program}\nISOLAB_PERL`;
}

/** A bash line that writes a Perl program to `path`, to start it later (e.g. in the background). */
export function perlFile(path: string, program: string): string {
  return `cat > ${path} <<'ISOLAB_PERL'\n${program}\nISOLAB_PERL\n`;
}

/** A bash line that waits (up to 10 s) until the bash `condition` holds, e.g. a listener is up. */
export function pollUntil(condition: string): string {
  return `for i in $(seq 100); do { ${condition}; } && break; sleep 0.1; done`;
}

/** The running kernel is at least `major.minor` (some namespaced interfaces are recent). */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [hostMajor, hostMinor] = release().split('.').map(Number);
  return hostMajor > major || (hostMajor === major && hostMinor >= minor);
}

/**
 * How /proc/PID/mountinfo names a host path as a mount's source: relative to the root of the
 * filesystem that holds it. /run/x is /x when /run is a tmpfs of its own, as on systemd hosts.
 */
export function pathInItsFilesystem(path: string): string {
  let best = { mountpoint: '', root: '/' };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [, , , root, mountpoint] = line.split(' ');
    const inside = mountpoint === '/' || path === mountpoint || path.startsWith(`${mountpoint}/`);
    // The longest mount point wins; of mounts stacked on one point, the last (the visible one).
    if (inside && mountpoint.length >= best.mountpoint.length) best = { mountpoint, root };
  }
  const rest = best.mountpoint === '/' ? path : path.slice(best.mountpoint.length);
  return posix.join(best.root, rest);
}

/** `NAME=value` lines printed by a probe, as a map. */
export function fields(output: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of output.matchAll(/^([A-Za-z0-9_.:/@-]+)=(.*)$/gm)) result[match[1]] = match[2];
  return result;
}

/** A name nothing else on the machine uses, for markers and keys. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/**
 * Every host process in the sandbox's PID namespace, found through /proc rather than the cgroup,
 * so that a process that left its cgroup is still found.
 */
export function processesInPidNamespace(initPid: number): number[] {
  const target = readlinkSync(`/proc/${initPid}/ns/pid`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) === target) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

/** Every process of a sandbox: those in its cgroup and those in its PID namespace. */
export function sandboxProcesses(lab: TestLab, sandboxId: string): number[] {
  const sandbox = sandboxById(lab.server, sandboxId)!;
  const inCgroup = sandbox.cgroup.dirs.flatMap((dir) => cgroupPids(dir));
  const initPid = sandbox.initPid();
  return [...new Set([...inCgroup, ...(initPid ? processesInPidNamespace(initPid) : [])])];
}

/** /proc/PID/status as a map of its fields, or undefined if the process is gone. */
export function processStatus(pid: number): Record<string, string> | undefined {
  try {
    const status: Record<string, string> = {};
    for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) status[line.slice(0, at)] = line.slice(at + 1).trim();
    }
    return status;
  } catch {
    return undefined;
  }
}

/** The host-side directory of a sandbox's cgroup that holds `file` (v1 has one per controller). */
export function cgroupFile(lab: TestLab, sandboxId: string, file: string): string {
  const dir = sandboxById(lab.server, sandboxId)!.cgroup.dirs.find((d) => existsSync(`${d}/${file}`));
  if (!dir) throw new Error(`no cgroup directory of ${sandboxId} has ${file}`);
  return `${dir}/${file}`;
}

/** The first of `files` that the sandbox's cgroup has (names differ between cgroup v1 and v2). */
export function firstCgroupFile(lab: TestLab, sandboxId: string, ...files: string[]): string {
  for (const dir of sandboxById(lab.server, sandboxId)!.cgroup.dirs) for (const file of files) if (existsSync(`${dir}/${file}`)) return `${dir}/${file}`;
  throw new Error(`no cgroup directory of ${sandboxId} has any of ${files.join(', ')}`);
}

/** lab-server answers /healthz: it is alive and its event loop is not stuck. */
export async function healthz(lab: TestLab): Promise<number> {
  const response = await fetch(`${lab.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  return response.status;
}

export { sleep } from './sleep';
