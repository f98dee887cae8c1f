/**
 * Generates the OCI runtime config (config.json) of a sandbox.
 *
 * Every choice here is part of the security model or of what the lessons need; DESIGN.md has the
 * measurements behind them. The generated file is also shown to learners in the Docker lesson
 * (mounted read-only at /run/isolab/config.json), so it is written to be read.
 */
import { basename, join } from 'node:path';
import type { SandboxLimits } from '../../../protocol';
import type { CgroupMode } from '../cgroups/host';
import type { LabConfig } from '../config';
import { seccompProfile } from './seccomp';

/**
 * What runc enforces for a sandbox: the limits a learner is shown (SandboxLimits: memory, pids, CPUs
 * as a fraction), plus the size of each writable tmpfs, the CFS period and the pty budget.
 */
export interface ContainerLimits extends SandboxLimits {
  tmpfsBytes: number;
  /** The CFS period in which the sandbox gets `cpus` × period of CPU time (see cpuBandwidth). */
  cpuPeriodUs: number;
  /** How many pseudo-terminals the sandbox's /dev/pts may hold (see ptysPerSandbox). */
  ptys: number;
}

/**
 * Pseudo-terminals are a host-wide budget: every devpts instance but the host's own draws from
 * kernel.pty.max minus kernel.pty.reserve (3072 of 4096 by default), and one sandbox holding
 * 3,000 of them made every new terminal in the lab fail. Each sandbox's /dev/pts is therefore
 * capped with devpts `max=`: its terminals (each is one pty in there, made by runc) plus room for
 * `script`, `unshare --pty` and the like. preflight.ts checks that the host's pool covers
 * ISOLAB_MAX_SANDBOXES of these.
 */
export function ptysPerSandbox(maxTerminals: number): number {
  return maxTerminals + 12;
}

/** The limits every sandbox gets, from the lab's configuration. */
export function sandboxLimits(config: LabConfig): ContainerLimits {
  return {
    memoryBytes: config.memoryLimit,
    pids: config.pidsLimit,
    cpus: config.cpuLimit,
    cpuPeriodUs: config.cpuPeriodMs * 1000,
    tmpfsBytes: config.tmpfsSize,
    ptys: ptysPerSandbox(config.maxTerminalsPerSandbox),
  };
}

export interface SpecInput {
  sandboxId: string;
  hostname: string;
  /**
   * The rootfs, as runc should reach it: lab-server passes a read-only view of it (see
   * readonly-view.ts), so that the sandbox's read-only root is locked by the kernel.
   */
  rootfsPath: string;
  /** Host uid/gid that root inside maps to; the next 65535 ids follow it. */
  uidBase: number;
  /**
   * A user namespace made beforehand with this mapping, for runc to join instead of making one
   * (see userns-limits.ts: it is owned by the sandbox's own host uid and carries its caps).
   */
  userNamespacePath?: string;
  cgroupsPath: string;
  cgroupMode: CgroupMode;
  /** Whether the host accounts swap (v1 memory.memsw.*, v2 memory.swap.max); only then can swap be forbidden. */
  swapAccounting: boolean;
  limits: ContainerLimits;
  /** Files in the bundle that are bind-mounted into the sandbox, as Docker does for these paths. */
  files: { hostname: string; hosts: string; config: string };
  /**
   * A read-only view of the bundle directory (see readonly-view.ts). When given, the files above
   * are bind-mounted from it, so that the sandbox can never remount them read-write and write to
   * the host's disk through them.
   */
  bundleView?: string;
}

/** 65536 ids: root plus the usual system and user range, so that nested user namespaces have ids to map. */
export const MAPPED_ID_COUNT = 65536;

/** The kernel refuses a CFS quota or period below 1 ms (min_cfs_quota_period). */
const MIN_CFS_QUOTA_US = 1000;

/**
 * The sandbox's CPU bandwidth: `cpus` × period of CPU time in every period, written by runc to
 * cpu.cfs_quota_us and cpu.cfs_period_us (v1) or cpu.max (v2).
 *
 * The quota is a backstop, not what makes sandboxes fair to each other: between sandboxes that
 * all want CPU, the scheduler shares it by weight (cpu.shares on v1, cpu.weight on v2), left at
 * the kernel's default so that every sandbox weighs the same. The quota caps what one sandbox
 * can take even from an idle host. Its period decides how a sandbox that used its quota feels:
 * it waits, with every process in it and so with the learner's keystrokes, until the next
 * period. At the kernel's usual 100 ms period that is up to 50 ms at 0.5 CPU; at 10 ms (the
 * default, ISOLAB_CPU_PERIOD_MS) it is at most 5 ms, and the share over a second is the same.
 * The period grows where a small limit would make the quota shorter than the kernel allows.
 */
export function cpuBandwidth(cpus: number, periodUs: number): { quota: number; period: number } {
  const period = Math.max(periodUs, Math.ceil(MIN_CFS_QUOTA_US / cpus));
  return { quota: Math.round(cpus * period), period };
}
/** Where the sandbox sees its own config.json. */
export const CONFIG_PATH_INSIDE = '/run/isolab/config.json';
/** A second sysfs mount; see the note on mounts below. Made by the rootfs build. */
export const SPARE_SYSFS_PATH = '/usr/lib/isolab/sysfs';
/** On v2, the init shell moves into this leaf so that the sandbox's root cgroup can enable controllers for children. */
export const V2_INIT_LEAF = 'init.scope';

/**
 * Capabilities of root inside. They live in the sandbox's user namespace, so they act only on
 * what that namespace owns (its own mounts, network, hostname, processes), never on the host.
 */
export const SANDBOX_CAPABILITIES = [
  'CAP_CHOWN', // chown files in /tmp and /root, as root expects to
  'CAP_DAC_OVERRIDE', // root reads and writes its own files regardless of mode
  'CAP_FOWNER', // chmod and utime on files root does not own
  'CAP_FSETID', // keep setuid bits when editing files
  'CAP_KILL', // signal processes of other uids inside the sandbox
  'CAP_SETUID', // su and nested user namespaces switch uids
  'CAP_SETGID', // the same for groups
  'CAP_SETPCAP', // capsh --drop, to show how capabilities work
  'CAP_SETFCAP', // mapping uid 0 in a nested user namespace (unshare -Ur) needs it since Linux 5.12
  'CAP_NET_BIND_SERVICE', // listen on ports below 1024 in the sandbox's network namespaces
  'CAP_NET_RAW', // ping across the veth pairs of the network lesson
  'CAP_NET_ADMIN', // ip link, ip addr, veth, bridges and ip netns
  'CAP_SYS_CHROOT', // chroot, for the "build a container by hand" lesson
  'CAP_SYS_ADMIN', // unshare, setns and mount: the namespace lessons
  'CAP_SYS_PTRACE', // strace and nsenter -t
  'CAP_SYS_TIME', // unshare -T --boottime/--monotonic sets time-namespace offsets
];

/**
 * The sandbox's resource limits. Raising a hard limit needs CAP_SYS_RESOURCE in the host's user
 * namespace, so these hold. lab-server starts runc with them (runc.ts), and every process in the
 * sandbox inherits them: runc cannot set them itself on a process in a user namespace that host
 * root does not own (it uses prlimit, which then needs CAP_SYS_RESOURCE, and some hosts withhold
 * it even from root).
 */
export const SANDBOX_RLIMITS = {
  // runc's Go runtime raises its soft limit to the hard one, and the sandbox inherits that.
  nofile: { soft: 4096, hard: 4096 },
  // No core dumps: the host's core_pattern may pipe them to a helper that runs as host root.
  core: { soft: 0, hard: 0 },
  // Queued signals are counted per user up through every user namespace. Without a cap one
  // sandbox held 20,000 queued signals (the adversarial suite measures it); 256 is far more than
  // a shell uses. The sandbox's user namespaces are made with this limit too, which makes it a
  // cap for the whole sandbox, whatever uids it switches to (userns-limits.ts).
  sigpending: { soft: 256, hard: 256 },
  // POSIX message queue bytes are counted the same way. No lesson uses POSIX message queues
  // (SysV ones, `ipcmk -Q`, are per IPC namespace and still work), so they get none.
  msgqueue: { soft: 0, hard: 0 },
};

export function generateSpec(input: SpecInput) {
  const { limits } = input;
  const tmpfs = (destination: string, mode: string, extra: string[] = []) => ({
    destination,
    type: 'tmpfs',
    source: 'tmpfs',
    // nr_inodes caps inode exhaustion; the size caps disk use. Pages are also charged to the memory cgroup.
    options: ['nosuid', 'nodev', `mode=${mode}`, `size=${limits.tmpfsBytes}`, `nr_inodes=${Math.max(1024, Math.floor(limits.tmpfsBytes / 4096))}`, ...extra],
  });
  const shown = (file: string) => (input.bundleView ? join(input.bundleView, basename(file)) : file);
  const bind = (source: string, destination: string) => ({ destination, type: 'bind', source: shown(source), options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  const shellArgs =
    input.cgroupMode === 'v2'
      ? [
          '/bin/sh',
          '-c',
          // cgroup v2 forbids processes in a cgroup that hands controllers to children, so the
          // shell first moves into a leaf. Later `runc exec` processes follow it there.
          `mkdir -p /sys/fs/cgroup/${V2_INIT_LEAF} && echo $$ > /sys/fs/cgroup/${V2_INIT_LEAF}/cgroup.procs && ` +
            `for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo +$c > /sys/fs/cgroup/cgroup.subtree_control; done 2>/dev/null; exec /bin/bash -l`,
        ]
      : ['/bin/bash', '-l'];

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: shellArgs,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm-256color', 'HOME=/root', 'LANG=C.UTF-8', `ISOLAB_SANDBOX=${input.sandboxId}`],
      cwd: '/root',
      capabilities: {
        bounding: SANDBOX_CAPABILITIES,
        effective: SANDBOX_CAPABILITIES,
        permitted: SANDBOX_CAPABILITIES,
      },
      // rlimits: see SANDBOX_RLIMITS; runc inherits them, it does not set them.
      // setuid binaries cannot gain privileges beyond the shell's.
      noNewPrivileges: true,
    },
    root: { path: input.rootfsPath, readonly: true },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      // nr_inodes: without it a tmpfs allows ~3 million inodes here; they are charged to the memory
      // cgroup, but there is no reason to let /dev hold more than any other writable path.
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', 'nr_inodes=16384'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5', `max=${limits.ptys}`] },
      tmpfs('/dev/shm', '1777', ['noexec']),
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      // sysfs is read-write because a read-only superblock makes every later sysfs mount in this
      // user namespace "too revealing", which breaks `ip netns exec` and `ip -n`. Writes are still
      // refused by the user namespace: host files belong to an unmapped uid.
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'rw'] },
      // `ip netns exec` unmounts /sys before mounting the new namespace's sysfs, and the kernel only
      // lets a user namespace mount sysfs while another full sysfs mount is visible. This one is it.
      { destination: SPARE_SYSFS_PATH, type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev'] },
      tmpfs('/tmp', '1777'),
      tmpfs('/var/tmp', '1777'),
      tmpfs('/root', '700'),
      tmpfs('/home', '755'),
      tmpfs('/run', '755'),
      bind(input.files.hostname, '/etc/hostname'),
      bind(input.files.hosts, '/etc/hosts'),
      bind(input.files.config, CONFIG_PATH_INSIDE),
    ],
    linux: {
      uidMappings: [{ containerID: 0, hostID: input.uidBase, size: MAPPED_ID_COUNT }],
      gidMappings: [{ containerID: 0, hostID: input.uidBase, size: MAPPED_ID_COUNT }],
      // runc 1.1 has no time namespace; learners make their own with unshare -T.
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'].map((type) =>
        type === 'user' && input.userNamespacePath ? { type, path: input.userNamespacePath } : { type },
      ),
      cgroupsPath: input.cgroupsPath,
      resources: {
        // swap = memory + swap in runc's terms: equal to the limit means no swap, so a hog is OOM-killed.
        memory: { limit: limits.memoryBytes, ...(input.swapAccounting ? { swap: limits.memoryBytes } : {}) },
        pids: { limit: limits.pids },
        cpu: cpuBandwidth(limits.cpus, limits.cpuPeriodUs),
        // runc adds the standard set (null, zero, full, random, urandom, tty, ptmx) after this deny-all.
        devices: [{ allow: false, access: 'rwm' }],
      },
      // No maskedPaths or readonlyPaths: they bind-mount over /proc, which makes a nested
      // `mount -t proc` fail and breaks `unshare -p --mount-proc`. /proc is protected by the user
      // namespace instead (host files are unmapped), and the adversarial suite proves it.
      seccomp: seccompProfile(),
    },
  };
}
