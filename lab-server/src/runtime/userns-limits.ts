/**
 * Per-sandbox caps on kernel budgets that a sandbox would otherwise share with host root.
 *
 * Why: the kernel counts namespaces and inotify objects per user, in every user namespace up to
 * the initial one, and a user namespace is charged to the user who created it. runc creates each
 * sandbox's user namespace as host root, so every sandbox draws from host root's budget: the
 * adversarial suite saw one sandbox hold all 128 inotify instances (fs.inotify.max_user_instances),
 * after which neither host root nor any other sandbox could make one. Namespaces are the same
 * story, and worse: `ip netns add` keeps a network namespace alive without a process, and each
 * one costs about 200 KB of kernel memory of which only about half is charged to the sandbox's
 * memory cgroup, so one sandbox could pin hundreds of megabytes beyond its memory limit.
 *
 * The kernel checks these counts at every level, so a cap in the sandbox's own user namespace
 * bounds the sandbox and everything nested in it. Writing the caps needs CAP_SYS_RESOURCE in that
 * namespace, which the sandbox does not have (see SANDBOX_CAPABILITIES), so learners can read them
 * (`cat /proc/sys/user/max_net_namespaces`) but not raise them. A nested user namespace may set
 * its own values, and stays under the sandbox's. runc cannot set `user.*` sysctls, so lab-server
 * writes them by entering the sandbox's user namespace, before the learner can type.
 *
 * The numbers leave room for every lesson (a handful of namespaces of each kind, `ip netns exec`
 * making a mount namespace per command, `tail -f` and editors using inotify).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const SANDBOX_USERNS_LIMITS: Record<string, number> = {
  max_user_namespaces: 32,
  max_net_namespaces: 32,
  max_mnt_namespaces: 128,
  max_pid_namespaces: 64,
  max_ipc_namespaces: 32,
  max_uts_namespaces: 32,
  max_cgroup_namespaces: 32,
  max_time_namespaces: 32,
  max_inotify_instances: 64,
  max_inotify_watches: 16_384,
  // fanotify_init is denied by seccomp; this is a second wall.
  max_fanotify_groups: 0,
  max_fanotify_marks: 0,
};

/**
 * Writes SANDBOX_USERNS_LIMITS into the user namespace of process `pid` (the sandbox's init).
 * nsenter enters only the user namespace: it runs the host's /bin/sh, and /proc/sys/user shows
 * the values of the namespace it is in.
 */
export async function applyUserNamespaceLimits(pid: number): Promise<void> {
  const script = Object.entries(SANDBOX_USERNS_LIMITS)
    .map(([name, value]) => `if [ -e /proc/sys/user/${name} ]; then echo ${value} > /proc/sys/user/${name} || exit 1; fi`)
    .join('\n');
  await execFileAsync('nsenter', ['--target', String(pid), '--user', '--', '/bin/sh', '-c', script], {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    timeout: 5000,
  });
}
