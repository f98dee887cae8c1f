import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findV1Hierarchy, missingControllers, parseCgroupMounts } from './host';
import { sandboxCgroupDirs } from './sandbox-cgroup';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('parseCgroupMounts', () => {
  it('reads a Debian 12 hybrid host: v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified', () => {
    const host = parseCgroupMounts(fixture('mountinfo-hybrid-debian12.txt'));
    expect(host.mode).toBe('hybrid');
    expect(host.unifiedMountpoint).toBe('/sys/fs/cgroup/unified');
    expect(findV1Hierarchy(host, 'memory')?.mountpoint).toBe('/sys/fs/cgroup/memory');
    expect(missingControllers(host, [])).toEqual([]);
  });

  it('reads a pure v2 host', () => {
    const host = parseCgroupMounts(fixture('mountinfo-v2-ubuntu2404.txt'));
    expect(host).toEqual({ mode: 'v2', v1: [], unifiedMountpoint: '/sys/fs/cgroup' });
    expect(missingControllers(host, ['cpuset', 'cpu', 'io', 'memory', 'pids'])).toEqual([]);
    expect(missingControllers(host, ['cpu', 'io'])).toEqual(['memory', 'pids']);
    expect(sandboxCgroupDirs(host, 'isolab', 'sbx-1')).toEqual({
      cgroupsPath: '/isolab/sbx-1',
      dirs: ['/sys/fs/cgroup/isolab/sbx-1'],
      delegated: ['/sys/fs/cgroup/isolab/sbx-1'],
    });
  });

  it('understands combined v1 hierarchies and skips hierarchies not mounted from the root', () => {
    const host = parseCgroupMounts(fixture('mountinfo-v1-systemd-combined.txt'));
    expect(host.mode).toBe('v1');
    expect(findV1Hierarchy(host, 'cpuacct')?.mountpoint).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(findV1Hierarchy(host, 'systemd')).toBeUndefined();
    expect(findV1Hierarchy(host, 'name=systemd')?.controllers).toEqual(['name=systemd']);
    // freezer is mounted from /docker/abc: this host is itself a container, so it is not usable.
    expect(findV1Hierarchy(host, 'freezer')).toBeUndefined();
    const dirs = sandboxCgroupDirs(host, 'isolab', 'sbx-1');
    expect(dirs.delegated).toEqual(['/sys/fs/cgroup/cpu,cpuacct/isolab/sbx-1', '/sys/fs/cgroup/memory/isolab/sbx-1', '/sys/fs/cgroup/pids/isolab/sbx-1']);
    expect(dirs.dirs).toContain('/sys/fs/cgroup/systemd/isolab/sbx-1');
    expect(dirs.dirs).toContain('/sys/fs/cgroup/net_cls,net_prio/isolab/sbx-1');
  });
});
