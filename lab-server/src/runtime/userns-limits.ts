/**
 * A sandbox's user namespaces, and the caps on the kernel budgets it would otherwise share.
 *
 * Why: the kernel counts namespaces, inotify objects and queued signals per user, in every user
 * namespace up to the initial one; in each parent namespace, everything in a child namespace is
 * charged to the child's owner (the user who created it). When runc made each sandbox's user
 * namespace as host root, every sandbox drew from host root's budget: the adversarial suite saw
 * one sandbox hold all 128 of host root's inotify instances (fs.inotify.max_user_instances), after
 * which neither host root nor any other sandbox could make one. And a cap written into the
 * sandbox's namespace bounded each uid in it, not the sandbox: `setpriv --reuid` to four more
 * uids gave a sandbox 127 network namespaces and 1,280 queued signals.
 *
 * So lab-server makes two user namespaces per sandbox before runc starts (isolab-ns userns):
 *
 *   host (initial)  charges everything below to the sandbox's own host uid: its budget, not
 *                   host root's and not a neighbour's.
 *   └ outer         owned by that host uid, maps its range to itself. Everything in the inner
 *                   namespace, every uid, is charged to one user here, so the caps below are
 *                   caps for the whole sandbox.
 *     └ inner       maps 0-65535 to the range; runc joins it and the learner lives in it. The
 *                   same caps again, per uid, as a learner can read them in /proc/sys/user.
 *
 * Queued signals follow the same chain, capped at each level by the RLIMIT_SIGPENDING of the
 * namespace's creator, so the helper makes both namespaces with SANDBOX_RLIMITS.sigpending.
 * Raising any of these needs CAP_SYS_RESOURCE in the outer namespace, which no process in the
 * sandbox has. A nested user namespace may set its own values, and stays under the sandbox's.
 *
 * The helper writes the caps itself, as the namespaces' creator, before any process of the
 * sandbox exists: lab-server never enters a sandbox's namespaces to do it (it used to run
 * `nsenter --user -- /bin/sh`, and a learner can make /bin/sh mean their own program there).
 *
 * The numbers leave room for every lesson (a handful of namespaces of each kind, `ip netns exec`
 * making a mount namespace per command, `tail -f` and editors using inotify).
 */
import { MAPPED_ID_COUNT, SANDBOX_RLIMITS } from './oci-spec';
import { holdNamespace, type HeldNamespace } from './ns-helper';

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
 * Makes the user namespaces of a sandbox whose root is host uid `hostUid`, with the caps set, and
 * holds the inner one until release() (once runc has joined it).
 */
export function sandboxUserNamespace(helper: string, hostUid: number): Promise<HeldNamespace> {
  const caps = (limits: Record<string, number>) => Object.entries(limits).map(([name, value]) => `${name}=${value}`);
  // The inner namespace itself is one of the outer namespace's user namespaces.
  const outer = { ...SANDBOX_USERNS_LIMITS, max_user_namespaces: SANDBOX_USERNS_LIMITS.max_user_namespaces + 1 };
  const args = ['userns', String(hostUid), String(MAPPED_ID_COUNT), String(SANDBOX_RLIMITS.sigpending.hard), ...caps(outer), '--', ...caps(SANDBOX_USERNS_LIMITS)];
  return holdNamespace(helper, args, 'user');
}
