/**
 * Before the server tests: removes what test labs of killed runs left on this machine (their
 * containers, read-only view mounts, cgroups and state directories). Only labs untouched for 30
 * minutes are removed, so a test run going on beside this one is left alone. On a fresh machine
 * (CI) there is nothing to do.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupHost } from '../../src/cgroups/host';
import { removeLabFootprint } from '../../src/sandbox/recovery';

const STALE_MS = 30 * 60 * 1000;
const TEST_LAB = /^isolab-(test|bench)-[0-9a-f]{6}(-bare)?$/;

export default async function removeStaleTestLabs(): Promise<void> {
  const cgroupHost = detectCgroupHost();
  const stale = new Set<string>();
  for (const name of readdirSync('/run')) {
    if (TEST_LAB.test(name) && Date.now() - statSync(join('/run', name)).mtimeMs > STALE_MS) stale.add(name);
  }
  // Parents whose state directory is already gone (a lab that closed before this cleanup existed).
  const someHierarchy = cgroupHost.mode === 'v2' ? cgroupHost.unifiedMountpoint! : cgroupHost.v1[0].mountpoint;
  for (const name of readdirSync(someHierarchy)) {
    if (TEST_LAB.test(name) && Date.now() - statSync(join(someHierarchy, name)).mtimeMs > STALE_MS) stale.add(name);
  }
  for (const name of stale) await removeLabFootprint({ stateDir: join('/run', name), cgroupParent: name, runcPath: 'runc', cgroupHost });
  if (stale.size > 0) console.log(`Removed ${stale.size} stale test lab(s) left by earlier runs.`);
}
