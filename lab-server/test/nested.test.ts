/**
 * The experiments the lessons teach work inside a sandbox: nested PID, user, time and network
 * namespaces, mounts, and child cgroups whose limits are enforced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Shell } from './support/shell';
import { boundSeconds } from './support/slowdown';
import { useTestLab } from './support/test-lab';

let shell: Shell;
let cgroupV2 = false;
useTestLab({ shellKey: 'nested' }, (context) => ({ shell } = context));
beforeAll(async () => {
  cgroupV2 = (await shell.term.exec('stat -fc %T /sys/fs/cgroup')).includes('cgroup2fs');
});

describe('nested namespaces inside a sandbox', () => {
  it('unshare -pf --mount-proc ps shows the new namespace’s PID 1', async () => {
    const out = await shell.term.exec('unshare -pf --mount-proc ps -o pid=,comm=');
    expect(out).toMatch(/^\s*1 ps$/m);
  });

  it('unshare -Ur id is root with the uid map 0 0 1', async () => {
    const out = await shell.term.exec("unshare -Ur sh -c 'id -u; cat /proc/self/uid_map'");
    expect(out).toMatch(/^0$/m);
    expect(out).toMatch(/^\s*0\s+0\s+1$/m);
  });

  it('unshare -T --boottime shifts the boot clock of the child only', async () => {
    const out = await shell.term.exec("unshare -T --fork --boottime 86400 cat /proc/uptime; echo outer $(cut -d' ' -f1 /proc/uptime)");
    const [inner] = out.split('\n');
    const outer = Number(/^outer (\S+)/m.exec(out)![1]);
    expect(Number(inner.split(' ')[0]) - outer).toBeGreaterThan(86_000);
  });

  it('ip netns add, a veth pair and ip netns exec connect two network namespaces', async () => {
    const out = await shell.term.exec(
      'ip netns add lab && ip link add v0 type veth peer name v1 && ip link set v1 netns lab && ' +
        'ip addr add 10.9.0.1/24 dev v0 && ip link set v0 up && ip -n lab addr add 10.9.0.2/24 dev v1 && ip -n lab link set v1 up && ' +
        'ping -c1 -W2 10.9.0.2 && ip netns exec lab ip -br addr show v1',
    );
    expect(out).toMatch(/1 received/);
    expect(out).toMatch(/v1@\S+\s+UP\s+10\.9\.0\.2\/24/);
    expect(out).toContain('[exit 0]');
  });

  it('mounts a tmpfs', async () => {
    const out = await shell.term.exec('mkdir -p /tmp/m && mount -t tmpfs -o size=8m lab /tmp/m && findmnt -n -o FSTYPE,SIZE /tmp/m');
    expect(out).toMatch(/^tmpfs\s+8M$/m);
  });
});

describe('child cgroups inside a sandbox', () => {
  it('a memory limit on a child cgroup OOM-kills a hog while the shell lives on', async () => {
    const script = cgroupV2
      ? 'mkdir /sys/fs/cgroup/hog && echo 32M > /sys/fs/cgroup/hog/memory.max && echo 0 > /sys/fs/cgroup/hog/memory.swap.max; ' +
        `sh -c 'echo $$ > /sys/fs/cgroup/hog/cgroup.procs; exec stress-ng --vm 1 --vm-bytes 96M --oomable -t ${boundSeconds(3)} -q'; grep oom_kill /sys/fs/cgroup/hog/memory.events`
      : 'mkdir /sys/fs/cgroup/memory/hog && echo 32M > /sys/fs/cgroup/memory/hog/memory.limit_in_bytes; ' +
        `sh -c 'echo $$ > /sys/fs/cgroup/memory/hog/cgroup.procs; exec stress-ng --vm 1 --vm-bytes 96M --oomable -t ${boundSeconds(3)} -q'; grep oom_kill /sys/fs/cgroup/memory/hog/memory.oom_control`;
    const out = await shell.term.exec(script, 30_000);
    const kills = Number(/oom_kill (\d+)/.exec(out)?.[1]);
    expect(kills).toBeGreaterThanOrEqual(1);
    expect(await shell.term.exec('echo alive')).toMatch(/^alive$/m);
  });

  it('a pids limit on a child cgroup refuses forks beyond it', async () => {
    const dir = cgroupV2 ? '/sys/fs/cgroup/few' : '/sys/fs/cgroup/pids/few';
    // dash gives up at the first refused fork ("Cannot fork"); the kernel counts the refusal in pids.events.
    const out = await shell.term.exec(
      `mkdir ${dir} && echo 5 > ${dir}/pids.max && ` +
        `sh -c 'echo $$ > ${dir}/cgroup.procs; for i in 1 2 3 4 5 6 7 8; do sleep 30 & done' 2>&1; ` +
        `cat ${dir}/pids.current; grep max ${dir}/pids.events; kill $(cat ${dir}/cgroup.procs) 2>/dev/null; true`,
      30_000,
    );
    expect(out).toMatch(/Cannot fork/);
    const current = Number(/^(\d+)$/m.exec(out)?.[1]);
    expect(current).toBeGreaterThan(0);
    expect(current).toBeLessThanOrEqual(5);
    expect(Number(/^max (\d+)$/m.exec(out)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('a CPU quota on a child cgroup throttles a busy loop', async () => {
    const dir = cgroupV2 ? '/sys/fs/cgroup/slow' : '/sys/fs/cgroup/cpu/slow';
    const limit = cgroupV2 ? `echo '10000 100000' > ${dir}/cpu.max` : `echo 10000 > ${dir}/cpu.cfs_quota_us`;
    const out = await shell.term.exec(
      `mkdir ${dir} && ${limit} && sh -c 'echo $$ > ${dir}/cgroup.procs; exec timeout 1 sh -c "while :; do :; done"'; grep nr_throttled ${dir}/cpu.stat`,
      30_000,
    );
    expect(Number(/nr_throttled (\d+)/.exec(out)?.[1])).toBeGreaterThan(0);
  });

  it('cannot raise the sandbox’s own limits', async () => {
    const file = cgroupV2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const out = await shell.term.exec(`echo 8G > ${file}; cat ${file}`);
    expect(out).toMatch(/Permission denied|Operation not permitted/);
    expect(out).toMatch(cgroupV2 ? /^268435456$/m : /^268435456$/m);
  });
});
