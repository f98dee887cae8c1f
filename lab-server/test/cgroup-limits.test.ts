/**
 * The limits on child cgroups that cgroup v2 enforces at mkdir (cgroup.max.descendants,
 * cgroup.max.depth), written on a sandbox's own cgroup so that a learner cannot use up the
 * host's cgroup ids (issue 10, class 3). The adversarial suite tries the count from inside a
 * sandbox on whichever cgroup version the host runs; this file tries both limits on the v2 path
 * even on a v1 or hybrid host, by preparing a sandbox cgroup as lab-server does on a v2 host in
 * the host's cgroup2 hierarchy (a hybrid host's /sys/fs/cgroup/unified) and making children in
 * it as the uid the cgroup is delegated to.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCgroupHost, type CgroupHost } from '../src/cgroups/host';
import { CHILD_CGROUP_LIMITS, prepareSandboxCgroup, removeCgroupTree, sandboxCgroupDirs } from '../src/cgroups/sandbox-cgroup';
import { testLabName } from './support/test-lab';

const host = detectCgroupHost();
const v2Host: CgroupHost = { mode: 'v2', v1: [], unifiedMountpoint: host.unifiedMountpoint };
/** Root in the sandbox: a host uid of no sandbox and no one else (just below the default ISOLAB_UID_BASE). */
const SANDBOX_ROOT_UID = 999_999_999;

/** Runs a shell script as the sandbox's root would reach this cgroup: its uid and gid, no groups. */
function asSandboxRoot(script: string): { stdout: string; stderr: string } {
  const result = spawnSync('setpriv', ['--reuid', String(SANDBOX_ROOT_UID), '--regid', String(SANDBOX_ROOT_UID), '--clear-groups', 'sh', '-c', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`setpriv exited ${result.status}: ${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!host.unifiedMountpoint)('a sandbox’s cgroup on cgroup v2', () => {
  it(`takes ${CHILD_CGROUP_LIMITS.depth} levels of children and ${CHILD_CGROUP_LIMITS.descendants} in all from the learner, and refuses more; the limits stay host root’s`, async () => {
    const parent = testLabName();
    const cgroup = sandboxCgroupDirs(v2Host, parent, 'sbx-limits');
    const [dir] = cgroup.dirs;
    try {
      prepareSandboxCgroup(v2Host, parent, cgroup, SANDBOX_ROOT_UID);

      // A chain of children, one inside the other, as deep as the kernel lets the learner go.
      const chain = asSandboxRoot(`cd ${dir} && d=. && made=0 && for i in $(seq 20); do d=$d/c$i; mkdir $d || break; made=$i; done; echo levels=$made`);
      expect(chain.stdout).toBe(`levels=${CHILD_CGROUP_LIMITS.depth}\n`);
      // Refused by the limit (EAGAIN), not for want of permission.
      expect(chain.stderr).toMatch(/Resource temporarily unavailable/);

      // Then siblings beside the chain until the count is reached.
      const wide = asSandboxRoot(`cd ${dir} && made=0 && for i in $(seq 200); do mkdir w$i || break; made=$i; done; echo made=$made`);
      expect(CHILD_CGROUP_LIMITS.depth + Number(/made=(\d+)/.exec(wide.stdout)?.[1])).toBe(CHILD_CGROUP_LIMITS.descendants);
      expect(wide.stderr).toMatch(/Resource temporarily unavailable/);

      // The learner cannot raise them: the files are host root's, and writing them is refused.
      for (const file of ['cgroup.max.depth', 'cgroup.max.descendants']) {
        expect(statSync(join(dir, file)).uid).toBe(0);
        const raise = asSandboxRoot(`{ echo max > ${join(dir, file)}; } 2>&1 || true`);
        expect(raise.stdout).toMatch(/Permission denied/);
      }
      expect(execFileSync('cat', [join(dir, 'cgroup.max.depth'), join(dir, 'cgroup.max.descendants')], { encoding: 'utf8' })).toBe(`${CHILD_CGROUP_LIMITS.depth}\n${CHILD_CGROUP_LIMITS.descendants}\n`);
    } finally {
      await removeCgroupTree(dir);
      rmdirSync(join(v2Host.unifiedMountpoint!, parent));
    }
  });
});
