/**
 * The sandbox's seccomp profile: a deny list.
 *
 * Docker's default profile is an allow list, and it blocks unshare(CLONE_NEWUSER) and mount,
 * which are the very things the lessons teach. Here the other layers (user namespace, cgroups,
 * read-only rootfs, no_new_privs, capabilities scoped to the user namespace) carry the weight,
 * and seccomp removes the kernel surface that a sandbox never needs and that has a history of
 * escapes or host-wide effects. Each entry says why. Denied calls fail with EPERM, so programs
 * see an ordinary "Operation not permitted" rather than a crash.
 */

interface SyscallRule {
  names: string[];
  why: string;
}

export const DENIED_SYSCALLS: SyscallRule[] = [
  { names: ['kexec_load', 'kexec_file_load'], why: 'Replacing the running kernel is a host-wide act.' },
  { names: ['init_module', 'finit_module', 'delete_module', 'create_module', 'query_module', 'get_kernel_syms'], why: 'Kernel modules run with full host privilege.' },
  { names: ['add_key', 'request_key', 'keyctl'], why: 'The kernel keyring is not namespaced; keys could leak between sandboxes.' },
  { names: ['bpf'], why: 'eBPF is a large attack surface with a history of privilege escalations.' },
  { names: ['perf_event_open'], why: 'Performance counters can observe other processes on the host and have had many CVEs.' },
  { names: ['userfaultfd'], why: 'Used to win kernel races in exploits; no lesson needs it.' },
  { names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], why: 'io_uring bypasses seccomp for the operations it carries, and has had many CVEs.' },
  { names: ['settimeofday', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64', 'adjtimex'], why: 'The realtime clock is shared with the host. Time namespaces (unshare -T) change the monotonic and boot clocks without these.' },
  { names: ['swapon', 'swapoff'], why: 'Swap is a host-wide setting, and the sandbox must not have swap, so that OOM really kills.' },
  { names: ['reboot'], why: 'Inside a PID namespace it would only end the sandbox, but there is no need to test that.' },
  { names: ['acct'], why: 'Process accounting writes host-wide records.' },
  { names: ['syslog'], why: "The kernel log belongs to the host and may show other sandboxes' events." },
  { names: ['open_by_handle_at', 'name_to_handle_at'], why: 'File handles can reach files outside the mount namespace (the 2014 "shocker" escape).' },
  { names: ['lookup_dcookie', 'nfsservctl', 'uselib', '_sysctl', 'ustat', 'sysfs'], why: 'Obsolete calls with no use in a sandbox.' },
  { names: ['iopl', 'ioperm'], why: 'Direct hardware port access.' },
  { names: ['vm86', 'vm86old'], why: 'Legacy 16-bit mode, a known source of kernel bugs.' },
  { names: ['quotactl', 'quotactl_fd'], why: 'Disk quotas are configured for host filesystems.' },
  { names: ['fanotify_init'], why: 'Filesystem-wide event monitoring.' },
  { names: ['mbind', 'set_mempolicy', 'migrate_pages', 'move_pages'], why: 'NUMA placement can pin memory on nodes the host reserved for others.' },
];

export interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  syscalls: Array<{ names: string[]; action: string; errnoRet: number }>;
}

/** The OCI `linux.seccomp` section for runc, which compiles it with libseccomp. */
export function seccompProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    // Listing the 32-bit ABIs makes libseccomp apply the same denials to int 0x80 and x32 calls,
    // which would otherwise be a way around a filter written for x86_64 numbers only.
    architectures: process.arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: DENIED_SYSCALLS.flatMap((rule) => rule.names), action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}
