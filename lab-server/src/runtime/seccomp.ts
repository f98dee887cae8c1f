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
  { names: ['mbind', 'set_mempolicy', 'migrate_pages', 'move_pages', 'set_mempolicy_home_node'], why: 'NUMA placement can pin memory on nodes the host reserved for others.' },
  {
    names: ['io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64'],
    why: "Kernel AIO contexts come from one host-wide pool (fs.aio-max-nr, 65536): one io_setup(65536) took all of it, and every other sandbox and the host's databases then got EAGAIN. glibc's POSIX aio_* uses threads, not these calls.",
  },
  { names: ['modify_ldt'], why: 'Per-process x86 segment descriptors: 16-bit and Wine code only, and a long record of kernel bugs.' },
  { names: ['memfd_secret'], why: 'Memory hidden even from the kernel\'s direct map; nothing in the lessons uses it, and the host cannot inspect it.' },
  { names: ['socketcall'], why: "32-bit x86's multiplexed socket calls pass their arguments through memory, where the socket() filters below cannot see them." },
];

/**
 * socket() families and protocols a sandbox never needs. runc ANDs the conditions of one rule
 * when they name different arguments, so "AF_NETLINK and NETLINK_XFRM" is one rule. socketpair()
 * needs no rule: the kernel makes pairs only of AF_UNIX (and AF_TIPC) sockets.
 */
const AF_NETLINK = 16;
export const DENIED_SOCKETS: Array<{ domain: number; protocol?: number; label: string; why: string }> = [
  { domain: 40, label: 'AF_VSOCK', why: "vsock is not namespaced: every sandbox would share the host's port space to the hypervisor." },
  { domain: 44, label: 'AF_XDP', why: 'Raw packet rings bound to a device queue; a large, young kernel surface that no lesson needs.' },
  {
    domain: AF_NETLINK,
    protocol: 12,
    label: 'NETLINK_NETFILTER',
    why: 'nf_tables through a user namespace is the most exploited privilege escalation of recent years. No firewall tool is installed, and the lessons never need one.',
  },
  { domain: AF_NETLINK, protocol: 6, label: 'NETLINK_XFRM', why: 'IPsec state (xfrm) has had several privilege escalations; NETLINK_ROUTE (ip) and SOCK_DIAG (ss) stay open.' },
];

/**
 * personality() values a sandbox may set: Linux, 32-bit Linux (`linux32`), the 2.6 uname
 * emulation, and 0xffffffff, which only asks for the current value. The same set as Docker's
 * profile. Every other flag weakens the process's own protections (ADDR_NO_RANDOMIZE,
 * READ_IMPLIES_EXEC, MMAP_PAGE_ZERO), which an exploit wants and no lesson does.
 */
export const ALLOWED_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
}

interface SeccompRule {
  names: string[];
  action: string;
  errnoRet: number;
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: string;
  architectures: string[];
  syscalls: SeccompRule[];
}

const EPERM = 1;
const deny = (names: string[], args?: SeccompArg[]): SeccompRule => ({ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, ...(args ? { args } : {}) });

/**
 * Rules that refuse every personality() value outside ALLOWED_PERSONALITIES (bits 3 and 17 only,
 * or all 32 set). A deny list must say "not in this set" as a union of one-condition rules:
 * runc turns several conditions on the same argument into separate rules (an OR), so
 * "NE a, NE b" would refuse everything. Each rule here tests two bits at once (SCMP_CMP_MASKED_EQ
 * with a mask and the value the masked bits must have):
 * - a bit other than 3 and 17 is set while bit 31 is clear (the value is not 0xffffffff);
 * - bit 31 is set while some other bit is clear (so it is not 0xffffffff either);
 * - and anything above 32 bits, which the kernel would truncate to an unchecked value.
 */
function personalityRules(): SeccompRule[] {
  const allowedBits = ALLOWED_PERSONALITIES.filter((v) => v !== 0xffffffff).reduce((bits, v) => bits | v, 0);
  const bit31 = 0x80000000;
  const rules = [deny(['personality'], [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_GT' }])];
  for (let bit = 0; bit < 31; bit++) {
    const mask = 2 ** bit;
    if (!(allowedBits & mask)) rules.push(deny(['personality'], [{ index: 0, value: mask + bit31, valueTwo: mask, op: 'SCMP_CMP_MASKED_EQ' }]));
    rules.push(deny(['personality'], [{ index: 0, value: mask + bit31, valueTwo: bit31, op: 'SCMP_CMP_MASKED_EQ' }]));
  }
  return rules;
}

/** The OCI `linux.seccomp` section for runc, which compiles it with libseccomp. */
export function seccompProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    // Listing the 32-bit ABIs makes libseccomp apply the same denials to int 0x80 and x32 calls,
    // which would otherwise be a way around a filter written for x86_64 numbers only.
    architectures: process.arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      // First, so that the Docker lesson's `.linux.seccomp.syscalls[0].names | length` counts it.
      deny(DENIED_SYSCALLS.flatMap((rule) => rule.names)),
      ...DENIED_SOCKETS.map(({ domain, protocol }) =>
        deny(['socket'], [{ index: 0, value: domain, op: 'SCMP_CMP_EQ' }, ...(protocol === undefined ? [] : [{ index: 2, value: protocol, op: 'SCMP_CMP_EQ' as const }])]),
      ),
      ...personalityRules(),
    ],
  };
}
