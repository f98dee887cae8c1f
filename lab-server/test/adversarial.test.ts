/**
 * The adversarial suite: each probe is a real attack from inside a sandbox, as root there, and
 * asserts that it fails or stays contained. Where the kernel's answer alone could hide which layer
 * stopped an attack, the probe is written so that it would fail if that layer were removed; the
 * comment over each probe says what would make it pass wrongly, and how it was tried.
 *
 * Results are read from the host side wherever the learner could fake them from inside.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_CONTROL } from '../../protocol';
import type { LabClient } from '../../lib/lab-client';
import { SANDBOX_CAPABILITIES } from '../src/runtime/oci-spec';
import { SANDBOX_USERNS_LIMITS } from '../src/runtime/userns-limits';
import { attack, cgroupFile, fields, firstCgroupFile, healthz, kernelAtLeast, pathInItsFilesystem, perl, perlFile, pollUntil, processesInPidNamespace, processStatus, sandboxProcesses, sleep, uniqueName } from './support/attack';
import { openShell, type Shell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab, sandboxById } from './support/test-lab';

const execFileAsync = promisify(execFile);

let lab: TestLab;
/** The attacker: most probes run here. */
let attacker: LabClient;
let mine: Shell;
/** Another learner, whose sandbox the attacker goes after. */
let neighbourClient: LabClient;
let neighbour: Shell;

beforeAll(async () => {
  // These probes race runc itself over dozens of back-to-back execs; the per-learner check rate
  // that would stop a real learner doing that has its own probe (adversarial-stall.test.ts).
  lab = await startTestLab({ ISOLAB_CHECKS_PER_MINUTE: '60000' });
  attacker = await lab.connect();
  neighbourClient = await lab.connect();
  [mine, neighbour] = await Promise.all([openShell(attacker, 'attacker'), openShell(neighbourClient, 'neighbour')]);
});
afterAll(() => lab?.close());

const id = () => mine.sandbox.sandboxId;
const run = (script: string, timeoutMs?: number) => attack(attacker, id(), script, timeoutMs);
/** A sandbox of its own for a probe that may leave it unusable. */
async function throwaway(key: string): Promise<{ client: LabClient; shell: Shell }> {
  const client = await lab.connect();
  return { client, shell: await openShell(client, key) };
}
/** The neighbour still answers: its sandbox and lab-server were not dragged down. */
async function neighbourAnswers(): Promise<void> {
  const result = await attack(neighbourClient, neighbour.sandbox.sandboxId, 'echo neighbour-ok');
  expect(result.stdout).toContain('neighbour-ok');
  expect(await healthz(lab)).toBe(200);
}

const EPERM = 1;
const ENOENT = 2;
const ESRCH = 3;
const EACCES = 13;
const EROFS = 30;
const ECONNREFUSED = 111;
const ENETUNREACH = 101;

// ---------------------------------------------------------------------------------------------
describe('host files', () => {
  // Passes wrongly if the search could not find anything at all: the sandbox's own marker is the
  // control, found by the same commands.
  it('cannot read host files: markers on the host are found by no path, /proc/*/root or search', async () => {
    const marker = uniqueName('isolab-adv');
    const hostMarkers = [join(tmpdir(), `${marker}-host`), join(lab.config.dataDir, `${marker}-host`), join(lab.config.stateDir, `${marker}-host`)];
    for (const path of hostMarkers) writeFileSync(path, 'host secret\n');
    try {
      const result = await run(
        `echo own > /tmp/${marker}-own
        for p in /tmp /../tmp /../../../tmp /proc/1/root/../../tmp /proc/self/cwd/../../../../tmp /sys/fs/cgroup/../../../tmp \
                 /usr/lib/isolab/sysfs/../../../../tmp ${lab.config.dataDir} ${lab.config.stateDir} /proc/1/root${lab.config.dataDir}; do
          for f in "$p"/${marker}-*; do [ -e "$f" ] && echo "FOUND $f"; done
        done
        find / /proc/[0-9]*/root/ -xdev -maxdepth 4 -name '${marker}-*' 2>/dev/null | sed 's/^/FOUND /'
        true`,
      );
      expect(result.stdout).toContain(`${marker}-own`);
      expect(result.stdout).not.toContain(`${marker}-host`);
    } finally {
      for (const path of hostMarkers) rmSync(path, { force: true });
    }
  });

  // The weakness this suite found: runc made the read-only root inside the sandbox's own mount
  // namespace, so `mount -o remount,bind,rw /` worked and wrote the rootfs every sandbox shares.
  // Pointing the config back at the rootfs itself (no read-only view) makes the remounts print
  // "ok" and this probe fail; that was tried.
  it('cannot make the shared rootfs writable: remount, mount_setattr, a bind copy, a nested namespace', async () => {
    const name = uniqueName('isolab-adv-rootfs');
    const result = await run(
      `touch /etc/${name} 2>&1; mkdir -p /tmp/rootcopy && mount --bind / /tmp/rootcopy
      ${perl(
        `for my $target ("/", "/tmp/rootcopy") {
          my ($t, $src, $zero) = ($target, "none", 0);
          my $r = syscall(165, $src, $t, $zero, 32|4096, $zero);   # mount(MS_REMOUNT|MS_BIND), no MS_RDONLY
          print "remount:$target=", ($r == 0 ? "ok" : $!+0), "\\n";
          my $attr = pack("QQQQ", 0, 1, 0, 0);                    # attr_clr = MOUNT_ATTR_RDONLY
          $r = syscall(442, -100, $t, 0, $attr, 32);
          print "setattr:$target=", ($r == 0 ? "ok" : $!+0), "\\n";
        }`,
      )}
      unshare -Urm sh -c 'mount -o remount,bind,rw / 2>/dev/null && echo nested=ok || echo nested=refused'
      touch /etc/${name} /tmp/rootcopy/etc/${name} 2>/dev/null && echo wrote=yes || echo wrote=no`,
    );
    const out = fields(result.stdout);
    for (const target of ['/', '/tmp/rootcopy']) {
      expect(out[`remount:${target}`]).toBe(String(EPERM));
      expect(out[`setattr:${target}`]).toBe(String(EPERM));
    }
    expect(out.nested).toBe('refused');
    expect(out.wrote).toBe('no');
    expect(result.stdout + result.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(lab.config.dataDir, 'rootfs', 'etc', name))).toBe(false);
  });

  // Same weakness through the files Docker-style bind-mounts from the bundle on the host's disk: a
  // writable /etc/hosts was a way to fill the host's disk.
  it('cannot remount /etc/hosts, /etc/hostname or its config.json writable to reach the host disk', async () => {
    const hostsOnHost = join(lab.config.stateDir, 'bundles', id(), 'hosts');
    const before = readFileSync(hostsOnHost, 'utf8');
    const result = await run(
      perl(
        `for my $target ("/etc/hosts", "/etc/hostname", "/run/isolab/config.json") {
          my ($t, $src, $zero) = ($target, "none", 0);
          my $r = syscall(165, $src, $t, $zero, 32|4096, $zero);
          print "remount:$target=", ($r == 0 ? "ok" : $!+0), "\\n";
          open(my $f, ">>", $target) ? print "append:$target=ok\\n" : print "append:$target=", $!+0, "\\n";
        }`,
      ),
    );
    const out = fields(result.stdout);
    for (const target of ['/etc/hosts', '/etc/hostname', '/run/isolab/config.json']) {
      expect(out[`remount:${target}`]).toBe(String(EPERM));
      // The host's files are unmapped here (EACCES) and the mount is read-only (EROFS).
      expect([String(EACCES), String(EROFS)]).toContain(out[`append:${target}`]);
    }
    expect(readFileSync(hostsOnHost, 'utf8')).toBe(before);
  });

  it('learns its bundle’s host paths from mountinfo, but they lead nowhere inside', async () => {
    const result = await run(`awk '$5 == "/etc/hosts" || $5 == "/" || $5 == "/run/isolab/config.json" {print $4}' /proc/self/mountinfo | while read p; do
        echo "source=$p"; for q in "$p" "$(dirname "$p")"; do [ -e "$q" ] && echo "REACHABLE $q"; done
      done; ls /run/isolab`);
    // mountinfo names the host directories (the bundle, the rootfs), each relative to its own
    // filesystem; neither exists in here.
    expect(result.stdout).toContain(`source=${pathInItsFilesystem(join(lab.config.stateDir, 'bundles', id(), 'hosts'))}`);
    expect(result.stdout).toContain(`source=${pathInItsFilesystem(join(lab.config.dataDir, 'rootfs'))}`);
    expect(result.stdout).not.toContain('REACHABLE');
    expect(result.stdout.trim().split('\n').at(-1)).toBe('config.json');
  });
});

// ---------------------------------------------------------------------------------------------
describe('kernel interfaces in /proc and /sys', () => {
  /** Opens every file under the roots for writing (O_WRONLY, nothing is written) and lists those that open. */
  const writableSweep = (roots: string[], expected: RegExp) =>
    perl(
      `use Fcntl; my ($n, $ok) = (0, 0); my $expected = qr{${expected.source}};
      sub walk { my ($d, $depth) = @_; return if $depth > 9; opendir(my $h, $d) or return;
        for my $e (readdir $h) { next if $e eq "." || $e eq ".."; my $p = "$d/$e"; next if -l $p;
          if (-d $p) { next if $p eq "/sys/fs/cgroup"; walk($p, $depth + 1) }
          elsif (-f $p) { $n++; if (sysopen(my $fh, $p, O_WRONLY|O_NONBLOCK)) { close $fh; if ($p =~ $expected) { $ok++ } else { print "WRITABLE $p\\n" } } } } }
      walk($_, 0) for @ARGV; print "checked=$n\\nexpected_writable=$ok\\n";`,
      ...roots,
    );

  // Passes wrongly if the sandbox's root were host root (every file here would open). Tried with a
  // container mapping root to host root: kernel/core_pattern and vm/drop_caches opened.
  it('/proc/sys: nothing opens for writing except what its own namespaces own (no kernel.*, vm.*, fs.* of the host)', async () => {
    const namespaced =
      /^\/proc\/sys\/(net\/.*|fs\/mqueue\/.*|kernel\/(msgmax|msgmnb|msgmni|msg_next_id|sem|sem_next_id|shmall|shmmax|shmmni|shm_next_id|shm_rmid_forced|auto_msgmni|ns_last_pid|pid_max))$/;
    const result = await run(writableSweep(['/proc/sys'], namespaced), 30_000);
    const out = fields(result.stdout);
    expect(Number(out.checked)).toBeGreaterThan(500);
    expect(Number(out.expected_writable)).toBeGreaterThan(10); // the sandbox's own net.* and IPC sysctls
    expect([...result.stdout.matchAll(/^WRITABLE (.*)$/gm)].map((m) => m[1])).toEqual([]);
  });

  it('writes to sysctls its namespaces own (kernel.shmmax, kernel.pid_max, net.ipv4.ip_forward) change nothing on the host', async () => {
    const paths = ['/proc/sys/kernel/shmmax', '/proc/sys/kernel/pid_max', '/proc/sys/net/ipv4/ip_forward'];
    const hostBefore = paths.map((p) => readFileSync(p, 'utf8'));
    const result = await run(`echo 12345678 > /proc/sys/kernel/shmmax; echo 54321 > /proc/sys/kernel/pid_max; echo 1 > /proc/sys/net/ipv4/ip_forward
      echo "inside=$(cat ${paths.join(' ')} | tr '\\n' ,)"`);
    // The writes took effect in here (so the probe did write), and the host kept its values.
    // kernel.pid_max belongs to the pid namespace from Linux 6.14; before, it is the host's and
    // the write is refused.
    const pidMaxInside = kernelAtLeast(6, 14) ? '54321' : hostBefore[1].trim();
    expect(fields(result.stdout).inside).toBe(`12345678,${pidMaxInside},1,`);
    expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(hostBefore);
  });

  it('cannot trigger SysRq, read /proc/kcore or kernel addresses, or open /dev/mem, /dev/kmem, /dev/port', async () => {
    const result = await run(
      perl(
        `use Fcntl;
        for my $f ("/proc/sysrq-trigger", "/proc/sys/kernel/sysrq", "/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches") {
          print "write:$f=", (sysopen(my $h, $f, O_WRONLY) ? "ok" : $!+0), "\\n" }
        for my $f ("/proc/kcore", "/dev/mem", "/dev/kmem", "/dev/port") { print "read:$f=", (sysopen(my $h, $f, O_RDONLY) ? "ok" : $!+0), "\\n" }
        open(my $k, "<", "/proc/kallsyms") or die; my ($lines, $nonzero) = (0, 0);
        while (<$k>) { $lines++; $nonzero++ if !/^0+ /; last if $lines >= 2000 } print "kallsyms=$lines/$nonzero\\n";`,
      ),
    );
    const out = fields(result.stdout);
    // On this kernel /proc/sysrq-trigger and /proc/kcore do not exist (ENOENT); elsewhere the
    // user namespace refuses them (EACCES). Either way, never "ok".
    for (const [key, value] of Object.entries(out)) if (key.startsWith('write:') || key.startsWith('read:')) expect(value, key).not.toBe('ok');
    expect([String(ENOENT), String(EACCES)]).toContain(out['write:/proc/sysrq-trigger']);
    expect(out['write:/proc/sys/kernel/core_pattern']).toBe(String(EACCES));
    // kallsyms is readable, but with every address zeroed: no KASLR leak for an exploit.
    const [lines, nonzero] = out.kallsyms.split('/').map(Number);
    expect(lines).toBeGreaterThan(100);
    expect(nonzero).toBe(0);
  });

  // /sys is mounted read-write on purpose (see oci-spec.ts); the user namespace must still refuse
  // every host file in it.
  it('/sys (and the spare sysfs): nothing opens for writing except its own network devices', async () => {
    const result = await run(writableSweep(['/sys', '/usr/lib/isolab/sysfs'], /^(\/sys|\/usr\/lib\/isolab\/sysfs)\/devices\/virtual\/net\/lo\//), 60_000);
    expect(Number(fields(result.stdout).checked)).toBeGreaterThan(1000);
    expect([...result.stdout.matchAll(/^WRITABLE (.*)$/gm)].map((m) => m[1])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('devices and mounts (the Play-with-Docker escape)', () => {
  it('cannot create a device node for the host’s root disk or /dev/mem, even in a nested user namespace', async () => {
    const dev = statSync('/').dev;
    const [major, minor] = [Number((BigInt(dev) >> 8n) & 0xfffn), Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn))];
    const result = await run(`mknod /tmp/disk b ${major} ${minor} 2>&1; echo "plain=$?"
      unshare -Ur sh -c 'mknod /tmp/disk2 b ${major} ${minor}' 2>&1; echo "nested=$?"
      mknod /tmp/mem c 1 1 2>&1; echo "mem=$?"
      ls /tmp/disk /tmp/disk2 /tmp/mem 2>/dev/null | sed 's/^/EXISTS /'`);
    const out = fields(result.stdout);
    expect([out.plain, out.nested, out.mem]).toEqual(['1', '1', '1']);
    expect(result.stdout).toMatch(/Operation not permitted/);
    expect(result.stdout).not.toContain('EXISTS');
  });

  it('finds no block device to mount: /dev holds only the standard nodes, and mounting the host disk fails', async () => {
    const result = await run(`find / -xdev -type b 2>/dev/null | sed 's/^/BLOCKDEV /'; stat -c '%F %n' /dev/* | grep block | sed 's/^/BLOCKDEV /'
      echo "entries=$(ls -A /dev | tr '\\n' ' ')"
      disk=$(ls /sys/block | grep -v -e loop -e zram | head -1); echo "sysblock=$disk"
      mkdir -p /tmp/mnt; mount -t ext4 -o ro /dev/$disk /tmp/mnt 2>&1; echo "mount=$?"
      losetup -f 2>&1; echo "loop=$?"`);
    const out = fields(result.stdout);
    expect(result.stdout).not.toContain('BLOCKDEV');
    const standard = ['console', 'core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'];
    expect(out.entries.trim().split(' ').filter((entry) => !standard.includes(entry))).toEqual([]);
    expect(out.sysblock).not.toBe(''); // the host's disk is there to aim at, in /sys
    expect(out.mount).not.toBe('0');
    expect(out.loop).not.toBe('0');
  });
});

// ---------------------------------------------------------------------------------------------
// Each call is made so that the kernel itself would answer something other than EPERM; seccomp's
// EPERM is then the only explanation. The last column is what the kernel said with the profile
// removed (tried: `linux.seccomp` set to null in a copy of the config).
const SECCOMP_PROBES: Array<[string, string, number[], string]> = [
  ['loading a kernel module (init_module)', 'init_module', [175, 0, 0, 0], 'ENOSYS here (no module support)'],
  ['loading a kernel module from a file (finit_module)', 'finit_module', [313, -1, 0, 0], 'ENOSYS'],
  ['replacing the kernel (kexec_load)', 'kexec_load', [246, 0, 0, 0, 0xffff0000], 'ENOSYS'],
  ['the kernel keyring (add_key)', 'add_key', [248, 0, 0, 0, 0, 0], 'EFAULT'],
  ['the kernel keyring (keyctl)', 'keyctl', [250, 9999], 'EOPNOTSUPP'],
  ['the kernel keyring (request_key)', 'request_key', [249, 0, 0, 0, 0], 'EFAULT'],
  ['eBPF (bpf)', 'bpf', [321, 9999, 0, 0], 'EINVAL'],
  ['performance counters (perf_event_open)', 'perf_event_open', [298, 0, 0, -1, -1, 0], 'EFAULT'],
  ['userfaultfd, the exploit-race helper', 'userfaultfd', [323, 0xffff], 'EINVAL'],
  ['io_uring (io_uring_setup)', 'io_uring_setup', [425, 1, 0], 'EFAULT'],
  ['file handles, the "shocker" escape (open_by_handle_at)', 'open_by_handle_at', [304, -1, 0, 0], 'EFAULT'],
  ['the realtime clock (clock_settime)', 'clock_settime', [227, 0, 0], 'EFAULT'],
];

describe.skipIf(process.arch !== 'x64')('seccomp: system calls a sandbox never needs', () => {
  let answers: Record<string, string>;
  beforeAll(async () => {
    const calls = SECCOMP_PROBES.map(([, name, args]) => `["${name}", ${args.join(', ')}]`).join(',\n');
    const result = await run(
      perl(
        `for my $c (${calls}) { my ($name, $nr, @a) = @$c; push @a, 0 while @a < 6;
          my $r = syscall($nr, @a[0..5]); print "$name=", ($r < 0 ? $!+0 : "ok"), "\\n" }`,
      ),
    );
    answers = fields(result.stdout);
  });
  it.each(SECCOMP_PROBES)('blocks %s', (_label, name, _args, withoutSeccomp) => {
    expect(answers[name], `without seccomp the kernel answers ${withoutSeccomp}`).toBe(String(EPERM));
  });
  it('blocks insmod of a module file, and every denied call stays denied in a nested user namespace', async () => {
    const result = await run(`busybox insmod /tmp/none.ko 2>&1; echo "insmod=$?"
      unshare -Ur ${perl('my ($n, $z) = (0, 0); print "nested_bpf=", (syscall(321, 9999, $z, $z) < 0 ? $!+0 : "ok"), "\\n";')}`);
    expect(fields(result.stdout).insmod).not.toBe('0');
    expect(fields(result.stdout).nested_bpf).toBe(String(EPERM));
  });
});

// ---------------------------------------------------------------------------------------------
describe('CVE-2024-21626 (runc’s leaked file descriptors, "Leaky Vessels")', () => {
  const marker = uniqueName('isolab-leaky');
  beforeAll(() => writeFileSync(join(tmpdir(), marker), 'host file\n'));
  afterAll(() => rmSync(join(tmpdir(), marker), { force: true }));
  /** Walks up from a directory far enough to reach the host's root from anywhere, then into its /tmp. */
  const hostMarkerFrom = (dir: string) => `${dir}/${'../'.repeat(12)}tmp/${marker}`;

  // The learner's version of attack 2 in GHSA-xr7r-f8xq-vfvv. lab-server runs `runc exec` with a
  // fixed cwd (/root), so the learner cannot pass --cwd; but runc exec resolves /root in the
  // sandbox's mount namespace, and a learner may stack a root of its own over / in which /root is
  // a symlink to /proc/self/fd/N. The control (a symlink to /tmp) shows that the next check really
  // starts where the learner points it. With the fix, no fd of runc init is a directory on the
  // host, so every N fails or stays inside. (A vulnerable runc 1.1.11 cannot be installed here;
  // Debian's 1.1.5+ds1-1+deb12u1 carries the fix.)
  it('a learner-made /root -> /proc/self/fd/N never lets the next runc exec start on the host', async () => {
    const { client, shell } = await throwaway('leaky-exec');
    // The init shell keeps its own root, so it can go on steering after / is covered.
    const stacked = await shell.term.exec(
      'mkdir -p /tmp/nr && mount -t tmpfs -o size=1m none /tmp/nr && cd /tmp/nr && ' +
        'for d in usr etc proc dev sys tmp run; do mkdir $d && mount --rbind /$d $d; done && ' +
        'for l in bin sbin lib lib64; do ln -s usr/$l $l; done && ln -s /tmp root && mount --rbind /tmp/nr / && cd /',
    );
    expect(stacked).toMatch(/\[exit 0\]$/);
    const control = await attack(client, shell.sandbox.sandboxId, 'pwd');
    expect(control.stdout.trim()).toBe('/tmp');
    const outcomes: string[] = [];
    for (let fd = 3; fd <= 15; fd++) {
      await shell.term.exec(`ln -sfn /proc/self/fd/${fd} /tmp/nr/root`);
      const result = await attack(client, shell.sandbox.sandboxId, `pwd; cat ${hostMarkerFrom('.')} 2>&1; cat ${hostMarkerFrom('/proc/self/cwd')} 2>&1`);
      expect(result.stdout + result.stderr).not.toContain('host file');
      outcomes.push(`${fd}:${result.exitCode === 0 ? result.stdout.split('\n')[0] : /chdir to cwd .* failed: ([^"\\]+)/.exec(result.stderr)?.[1] ?? result.stderr.slice(0, 80)}`);
    }
    // Every attempt was refused by runc (the fd is not a directory, or not there).
    expect(outcomes.every((o) => /not a directory|no such file/.test(o)), outcomes.join('\n')).toBe(true);
  });

  // Attack 2 as published: `runc exec --cwd /proc/self/fd/N`. lab-server never passes --cwd, so
  // this is the host's runc tested directly against a lab sandbox, as preflight claims it is fixed.
  it('the published PoC (runc exec --cwd /proc/self/fd/N) is refused by this host’s runc', async () => {
    const root = join(lab.config.stateDir, 'runc');
    const refused: number[] = [];
    for (let fd = 3; fd <= 12; fd++) {
      const result = await execFileAsync(lab.config.runcPath, ['--root', root, 'exec', '--cwd', `/proc/self/fd/${fd}`, id(), '/bin/sh', '-c', `cat ${hostMarkerFrom('.')}`]).then(
        (r) => ({ ok: true, out: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
      );
      expect(result.out).not.toContain('host file');
      if (!result.ok && /chdir to cwd/.test(result.out)) refused.push(fd);
    }
    // On this runc every fd is refused at the chdir; a cwd inside the container would also be safe.
    expect(refused.length).toBeGreaterThan(0);
  });

  // Attack 2's other face, and CVE-2019-5736: while runc init runs inside the sandbox (each runc
  // exec), a sandbox process races to use its fds, cwd or executable. runc init is found by its
  // /proc entry belonging to an unmapped (host) user. The probe reports how many it saw, so that a
  // race it never won is visible rather than silently passing.
  it('racing runc init during 40 execs: its fds, cwd and executable stay out of reach', async () => {
    const { client, shell } = await throwaway('leaky-race');
    const racer = perl(
      `use Fcntl; my $end = time + $ARGV[0]; my (%seen, $inits, $opened); my $me = $$;
      while (time < $end) { opendir(my $d, "/proc") or die; for my $p (grep { /^\\d+$/ } readdir $d) {
        next if $seen{$p}++ || $p == $me; my @st = stat("/proc/$p"); next unless @st && $st[4] == 65534; $inits++;
        for my $f ("fd", "cwd", "root") { if (opendir(my $h, "/proc/$p/$f")) { $opened++; print "OPENED $p/$f\\n" } }
        if (sysopen(my $x, "/proc/$p/exe", O_WRONLY)) { $opened++; print "OPENED $p/exe for writing\\n" }
        if (defined readlink("/proc/$p/cwd")) { $opened++; print "READ $p/cwd\\n" } }
        closedir $d }
      print "inits=", $inits // 0, "\\nopened=", $opened // 0, "\\n";`,
      '8',
    );
    shell.term.run(racer);
    await sleep(500);
    for (let i = 0; i < 40; i++) await attack(client, shell.sandbox.sandboxId, 'true');
    const seen = await shell.term.waitFor(/inits=(\d+)\s+opened=(\d+)/, 20_000);
    console.log(`[runc init race] runc init processes seen: ${seen[1]}, opened: ${seen[2]}`);
    expect(Number(seen[2])).toBe(0);
    expect(Number(seen[1])).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe('another learner’s sandbox', () => {
  let sleeperHostPid: number;
  const secret = uniqueName('isolab-neighbour');
  beforeAll(async () => {
    const setup = await attack(
      neighbourClient,
      neighbour.sandbox.sandboxId,
      `(setsid sleep 4242 >/dev/null 2>&1 &); echo s > /tmp/${secret}; echo s > /dev/shm/${secret}; echo s > /root/${secret}
      ${perl(`shmget(0x15015, 4096, 01000|0666) // die "shm $!"; msgget(0x15016, 01000|0666) // die "msg $!";`)}
      (setsid nc -lk 127.0.0.1 7777 >/dev/null 2>&1 &)
      ${perlFile('/tmp/listen.pl', `use Socket; socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die; bind($s, pack_sockaddr_un("\\0${secret}")) or die; listen($s, 5); sleep 600;`)}
      (setsid perl /tmp/listen.pl >/dev/null 2>&1 &)
      ${pollUntil(`grep -q '@${secret}' /proc/net/unix && ss -Hltn 'sport = :7777' | grep -q .`)}
      grep -c '@${secret}' /proc/net/unix`,
    );
    expect(setup.stdout.trim()).toBe('1'); // the neighbour's socket is listening
    const sleeper = sandboxProcesses(lab, neighbour.sandbox.sandboxId).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\x004242');
      } catch {
        return false;
      }
    });
    expect(sleeper).toBeDefined();
    sleeperHostPid = sleeper!;
  });

  it('cannot see or signal its processes, not even by their host PID', async () => {
    const result = await run(`ps -eo args | grep -c 'sleep [4]242'; kill -9 ${sleeperHostPid} 2>&1; echo "kill=$?"; ls /proc/${sleeperHostPid} >/dev/null 2>&1 && echo VISIBLE`);
    expect(result.stdout.split('\n')[0]).toBe('0');
    expect(fields(result.stdout).kill).toBe('1');
    expect(result.stdout).not.toContain('VISIBLE');
    expect(processStatus(sleeperHostPid)).toBeDefined(); // still alive on the host
  });

  it('cannot read its files in /tmp, /root or /dev/shm, directly or through /proc/*/root', async () => {
    const result = await run(`find / /proc/[0-9]*/root/ -maxdepth 4 -name '${secret}*' 2>/dev/null; cat /proc/*/root/tmp/${secret} 2>/dev/null; echo done`);
    expect(result.stdout.trim()).toBe('done');
  });

  it('cannot reach its SysV shared memory or message queues, or its abstract unix socket', async () => {
    const result = await run(
      perl(
        `use Socket;
        print "shm=", (defined(shmget(0x15015, 4096, 0)) ? "found" : $!+0), "\\n";
        print "msg=", (defined(msgget(0x15016, 0)) ? "found" : $!+0), "\\n";
        socket(my $c, AF_UNIX, SOCK_STREAM, 0) or die; print "abstract=", (connect($c, pack_sockaddr_un("\\0${secret}")) ? "connected" : $!+0), "\\n";
        socket(my $own, AF_UNIX, SOCK_STREAM, 0) or die; bind($own, pack_sockaddr_un("\\0own-${secret}")) or die; listen($own, 1);
        socket(my $c2, AF_UNIX, SOCK_STREAM, 0) or die; print "own=", (connect($c2, pack_sockaddr_un("\\0own-${secret}")) ? "connected" : $!+0), "\\n";`,
      ),
    );
    const out = fields(result.stdout);
    expect(out.shm).toBe(String(ENOENT));
    expect(out.msg).toBe(String(ENOENT));
    expect(out.abstract).toBe(String(ECONNREFUSED));
    expect(out.own).toBe('connected'); // the control: the same code reaches a socket of its own
  });

  it('cannot connect to its listening port (each sandbox has its own loopback)', async () => {
    const result = await run(`nc -z -w 2 127.0.0.1 7777; echo "theirs=$?"; (nc -l 127.0.0.1 7778 >/dev/null 2>&1 &); ${pollUntil(`ss -Hltn 'sport = :7778' | grep -q .`)}; nc -z -w 2 127.0.0.1 7778; echo "own=$?"`);
    expect(fields(result.stdout)).toMatchObject({ theirs: '1', own: '0' });
    // The neighbour's listener is really there.
    const theirs = await attack(neighbourClient, neighbour.sandbox.sandboxId, 'nc -z -w 2 127.0.0.1 7777; echo "listening=$?"');
    expect(fields(theirs.stdout).listening).toBe('0');
  });
});

// ---------------------------------------------------------------------------------------------
describe('the host’s IPC', () => {
  let hostSocket: NetServer;
  let hostShmId: string;
  const name = uniqueName('isolab-host-ipc');
  beforeAll(async () => {
    hostSocket = createNetServer(() => {});
    await new Promise<void>((resolve) => hostSocket.listen({ path: `\0${name}` }, resolve));
    hostShmId = /(\d+)/.exec(execFileSync('ipcmk', ['-M', '4096'], { encoding: 'utf8' }))![1];
    writeFileSync(`/dev/shm/${name}`, 'host');
  });
  afterAll(() => {
    hostSocket?.close();
    if (hostShmId) execFileSync('ipcrm', ['-m', hostShmId]);
    rmSync(`/dev/shm/${name}`, { force: true });
  });

  it('cannot reach host root’s SysV segments, /dev/shm files or abstract unix sockets', async () => {
    const result = await run(
      `ls /dev/shm | grep -c ${name} || true
      ${perl(`use Socket; my $buf = "";
        print "shmctl=", (defined(shmctl(${hostShmId}, 2, $buf)) ? "found" : $!+0), "\\n";`)}
      ${perl(`use Socket;
        socket(my $c, AF_UNIX, SOCK_STREAM, 0) or die; print "abstract=", (connect($c, pack_sockaddr_un("\\0${name}")) ? "connected" : $!+0), "\\n";`)}`,
    );
    expect(result.stdout.split('\n')[0]).toBe('0');
    expect(['22', String(ENOENT)]).toContain(fields(result.stdout).shmctl); // EINVAL: no such id in its IPC namespace
    expect(fields(result.stdout).abstract).toBe(String(ECONNREFUSED));
  });
});

// ---------------------------------------------------------------------------------------------
describe('network egress', () => {
  const hostAddresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && !a.address.startsWith('fe80'))
    .map((a) => a!);
  const gateway = (() => {
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').find((line) => line.split('\t')[1] === '00000000');
    const hex = route?.split('\t')[2];
    return hex ? [0, 1, 2, 3].map((i) => parseInt(hex.slice(6 - 2 * i, 8 - 2 * i), 16)).join('.') : undefined;
  })();
  const connectAll = (targets: Array<[string, number]>) =>
    perl(
      `use IO::Socket::IP; for my $t (${targets.map(([h, p]) => `["${h}", ${p}]`).join(', ')}) {
        my $s = IO::Socket::IP->new(PeerHost => $t->[0], PeerPort => $t->[1], Timeout => 3);
        print "tcp:$t->[0]=", ($s ? "connected" : $!+0), "\\n" }`,
    );

  it('has no IPv4 route out: the internet, the host’s addresses and its gateway are unreachable', async () => {
    const v4 = ['1.1.1.1', '8.8.8.8', ...hostAddresses.filter((a) => a.family === 'IPv4').map((a) => a.address), ...(gateway ? [gateway] : [])];
    const result = await run(
      connectAll(v4.map((h) => [h, 443])) +
        `\n${perl(`use Socket; socket(my $u, AF_INET, SOCK_DGRAM, 0) or die; print "udp=", (defined(send($u, "x", 0, sockaddr_in(53, inet_aton("8.8.8.8")))) ? "sent" : $!+0), "\\n";`)}
      ping -c1 -W1 1.1.1.1 >/dev/null 2>&1; echo "ping=$?"`,
    );
    const out = fields(result.stdout);
    for (const host of v4) expect(out[`tcp:${host}`], host).toBe(String(ENETUNREACH));
    expect(out.udp).toBe(String(ENETUNREACH));
    expect(out.ping).not.toBe('0');
  });

  it('has no IPv6 route out either', async () => {
    const v6 = ['2606:4700:4700::1111', '::ffff:1.1.1.1', ...hostAddresses.filter((a) => a.family === 'IPv6').map((a) => a.address)];
    const result = await run(connectAll(v6.map((h) => [h, 443])));
    const out = fields(result.stdout);
    for (const host of v6) expect(out[`tcp:${host}`], host).toBe(String(ENETUNREACH));
  });

  // CAP_NET_RAW is granted (ping across the lessons' veth pairs); it must not reach past the
  // sandbox's own network namespace.
  it('raw and packet sockets see only its loopback and cannot send out', async () => {
    const result = await run(
      perl(
        `use Socket; socket(my $r, AF_INET, SOCK_RAW, 1) or die "raw: $!"; print "raw=", (defined(send($r, "\\x08\\0\\0\\0\\0\\0\\0\\0", 0, sockaddr_in(0, inet_aton("1.1.1.1")))) ? "sent" : $!+0), "\\n";
        socket(my $p, 17, SOCK_RAW, 0x0300) or die "packet: $!"; print "packet=open\\n";`,
      ) + `\nip -o link show | awk -F': ' '{print $2}' | tr '\\n' ' ' | sed 's/^/links=/'`,
    );
    const out = fields(result.stdout);
    expect(out.raw).toBe(String(ENETUNREACH));
    expect(out.packet).toBe('open');
    expect(out.links.trim()).toBe('lo');
  });

  it('cannot attach an interface to the host (macvlan on eth0, a veth into "PID 1"), and the host’s links are unchanged', async () => {
    const hostLinks = () => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').map((l) => l.split(': ')[1]).filter(Boolean).sort();
    const before = hostLinks();
    const result = await run(`ip link add link eth0 name evil0 type macvlan 2>&1; echo "macvlan=$?"
      ip link add evil1 type veth peer name evil2 netns 1 2>&1; echo "veth=$?"; ip -o link show | grep -c evil`);
    expect(fields(result.stdout).macvlan).not.toBe('0');
    // The veth pair is made, but both ends stay in the sandbox: its "PID 1" is its own shell.
    expect(hostLinks()).toEqual(before);
    expect(hostLinks().some((l) => l.includes('evil'))).toBe(false);
  });

  it('cannot reach lab-server or any host service over the network', async () => {
    const port = new URL(lab.url).port;
    const result = await run(`nc -z -w 2 127.0.0.1 ${port}; echo "loopback=$?"; ${connectAll(hostAddresses.filter((a) => a.family === 'IPv4').map((a) => [a.address, Number(port)]))}`);
    expect(fields(result.stdout).loopback).toBe('1');
  });
});

// ---------------------------------------------------------------------------------------------
describe('the host’s hostname and clock', () => {
  it('changing the hostname and domain name changes only its own', async () => {
    const before = { hostname: hostname(), domain: readFileSync('/proc/sys/kernel/domainname', 'utf8') };
    const result = await run(`hostname evil-host && domainname evil-domain; sysctl -w kernel.hostname=evil-sysctl 2>&1 | head -1; echo "inside=$(hostname)/$(domainname)"`);
    expect(fields(result.stdout).inside).toBe('evil-host/evil-domain');
    expect({ hostname: hostname(), domain: readFileSync('/proc/sys/kernel/domainname', 'utf8') }).toEqual(before);
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(before.hostname);
    await run(`hostname ${mine.sandbox.hostname}`);
  });

  it('cannot set the host’s clock (date -s, settimeofday, clock_settime, adjtimex, hwclock); a time namespace shifts only its own', async () => {
    const hostBefore = Date.now();
    const result = await run(`date -s '2001-01-01' >/dev/null 2>&1; echo "date=$?"
      ${perl(`my $tv = pack("qq", 978307200, 0); my $z = 0;
        print "settimeofday=", (syscall(164, $tv, $z) == 0 ? "ok" : $!+0), "\\n";
        print "clock_settime=", (syscall(227, $z, $tv) == 0 ? "ok" : $!+0), "\\n";
        my $tx = pack("I", 1) . ("\\0" x 204); print "adjtimex=", (syscall(159, $tx) >= 0 ? "ok" : $!+0), "\\n";`)}
      busybox hwclock -w 2>/dev/null; echo "hwclock=$?"
      echo "now=$(date +%s)"; echo "shifted=$(unshare -T --fork --boottime 86400 cat /proc/uptime | cut -d. -f1)"`);
    const out = fields(result.stdout);
    expect(out.date).not.toBe('0');
    expect(out.settimeofday).toBe(String(EPERM));
    expect(out.clock_settime).toBe(String(EPERM));
    expect(out.adjtimex).toBe(String(EPERM));
    expect(out.hwclock).not.toBe('0');
    // The host's clock went on as before: the sandbox's "now" is the host's now.
    expect(Math.abs(Number(out.now) * 1000 - Date.now())).toBeLessThan(30_000);
    expect(Date.now()).toBeGreaterThanOrEqual(hostBefore);
    const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
    expect(Number(out.shifted)).toBeGreaterThan(hostUptime + 80_000); // the lesson's time namespace works...
    expect(hostUptime).toBeLessThan(Number(out.shifted) - 80_000); // ...and the host's boot clock is untouched
  });
});

// ---------------------------------------------------------------------------------------------
describe('its cgroup', () => {
  // Checked on the host, process by process, through the PID namespace: a process that had left
  // its cgroup would still be found and would fail the check.
  it('cannot move itself to the root cgroup of any hierarchy, even through fresh cgroup mounts', async () => {
    const result = await run(`for h in pids memory cpu freezer; do mkdir -p /tmp/cg-$h; mount -t cgroup -o $h none /tmp/cg-$h 2>/dev/null && echo $$ > /tmp/cg-$h/cgroup.procs; done
      mkdir -p /tmp/cg2; mount -t cgroup2 none /tmp/cg2 2>/dev/null && echo $$ > /tmp/cg2/cgroup.procs 2>/dev/null
      for f in /tmp/cg-*/cgroup.procs /tmp/cg2/cgroup.procs /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do [ -w "$f" ] && (sh -c "echo \\$\\$ > $f; exec sleep 30" >/dev/null 2>&1 &); done
      ls /tmp/cg-pids | grep -c isolab || true; sleep 0.5`);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('0'); // a fresh mount shows only its own subtree
    const cgroupPath = `/${lab.config.cgroupParent}/${id()}`;
    const pids = processesInPidNamespace(sandboxById(lab.server, id())!.initPid()!);
    expect(pids.length).toBeGreaterThan(1);
    for (const pid of pids) {
      const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
      for (const line of lines) expect(line.split(':')[2], `pid ${pid}: ${line}`).toMatch(new RegExp(`^${cgroupPath}(/|$)`));
    }
  });

  it('cannot raise its own limits, and a child cgroup with higher limits is still capped by its own', async () => {
    const { client, shell } = await throwaway('raise-limits');
    const sandboxId = shell.sandbox.sandboxId;
    const result = await attack(
      client,
      sandboxId,
      `if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then m=/sys/fs/cgroup; mem=memory.max; pids=pids.max; cpu=cpu.max; v=max;
       else m=/sys/fs/cgroup/memory; mem=memory.limit_in_bytes; pids=../pids/pids.max; cpu=../cpu/cpu.cfs_quota_us; v=-1; fi
      for f in $mem $pids $cpu; do echo $v > $m/$f 2>/dev/null && echo "RAISED $f"; chmod 666 $m/$f 2>/dev/null && echo "CHMOD $f"; done
      mkdir -p $m/kid && echo 4G > $m/kid/$mem 2>/dev/null; echo "kid=$(cat $m/kid/$mem)"
      ${perlFile('/tmp/hog.pl', 'my $x = "a" x (600 << 20); print "ALLOCATED\\n";')}
      K=$m/kid sh -c 'echo $$ > $K/cgroup.procs; exec perl /tmp/hog.pl'; echo "hog=$?"`,
      40_000,
    );
    expect(result.stdout).not.toMatch(/RAISED|CHMOD|ALLOCATED/);
    expect(fields(result.stdout).hog).toBe('137'); // SIGKILL from the OOM killer
    // The kid's 4G never applied above the sandbox's own limit, which is unchanged.
    expect(Number(readFileSync(firstCgroupFile(lab, sandboxId, 'memory.max', 'memory.limit_in_bytes'), 'utf8'))).toBe(lab.config.memoryLimit);
  });

  // CVE-2022-0492: a fresh cgroup v1 mount's release_agent runs as host root. The kernel refuses
  // it to user namespaces since 5.17; the probe fails if any release_agent it can reach opens.
  it('cannot use the cgroup v1 release_agent (CVE-2022-0492)', async () => {
    const result = await run(`mkdir -p /tmp/ra1 /tmp/ra2; mount -t cgroup -o rdma none /tmp/ra1 2>/dev/null; mount -t cgroup -o none,name=isolabx none /tmp/ra2 2>&1 | head -1
      for f in $(find /tmp/ra1 /tmp/ra2 /tmp/cg-* /sys/fs/cgroup -maxdepth 2 -name release_agent 2>/dev/null); do echo /tmp/x > $f 2>/dev/null && echo "WROTE $f"; done; echo done`);
    expect(result.stdout).not.toContain('WROTE');
    expect(result.stdout).toMatch(/permission denied|done/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('exhaustion', () => {
  it('pids: a fork bomb stops at pids.max, and lab-server and a neighbour keep answering', async () => {
    const { client, shell } = await throwaway('fork-bomb');
    const sandboxId = shell.sandbox.sandboxId;
    await attack(client, sandboxId, "setsid bash -c ':(){ :|:& };:' >/dev/null 2>&1 &", 3000);
    // Refused forks as the meter counts them (summed over the subtree where the kernel counts
    // them in the forking process's own cgroup: v2 before 6.13).
    let refused = 0;
    for (let i = 0; i < 150 && refused === 0; i++) {
      await sleep(100);
      refused = (await lab.cgroupStats(sandboxId)).pids.forksRefused;
    }
    expect(refused).toBeGreaterThan(0); // forks were refused at the limit
    // The kernel's own count (a listing of /proc would race the bomb's churn).
    expect(Number(readFileSync(cgroupFile(lab, sandboxId, 'pids.current'), 'utf8'))).toBeLessThanOrEqual(lab.config.pidsLimit);
    await neighbourAnswers();
    // Teardown wins against the bomb (runc kill --all freezes the cgroup first).
    const dirs = sandboxById(lab.server, sandboxId)!.cgroup.dirs;
    await client.request('sandbox:close', { sandboxId });
    expect(dirs.filter(existsSync)).toEqual([]);
  });

  it('memory: pages pinned in a 2 GB tmpfs it mounts itself are still capped by its memory limit', async () => {
    const { client, shell } = await throwaway('tmpfs-hog');
    const sandboxId = shell.sandbox.sandboxId;
    const usageFile = firstCgroupFile(lab, sandboxId, 'memory.usage_in_bytes', 'memory.current');
    // Sampled from the host while the attack runs: the cgroup may be gone afterwards, because the
    // OOM killer may pick the shell itself (tmpfs pages cannot be reclaimed without swap).
    let highest = 0;
    const sampler = setInterval(() => {
      try {
        highest = Math.max(highest, Number(readFileSync(usageFile, 'utf8')));
      } catch {
        // Torn down.
      }
    }, 10);
    const result = await attack(client, sandboxId, 'mkdir -p /tmp/big && mount -t tmpfs -o size=2g none /tmp/big && dd if=/dev/zero of=/tmp/big/fill bs=1M count=600 2>&1; ls -l /tmp/big/fill', 40_000).catch(
      (error: Error) => ({ stdout: '', stderr: error.message }),
    );
    await sleep(200);
    clearInterval(sampler);
    expect(result.stdout).not.toMatch(/ 629145600 /); // the 600 MB file was never written whole
    expect(highest).toBeGreaterThan(lab.config.memoryLimit * 0.8); // the attack did push to the limit...
    expect(highest).toBeLessThanOrEqual(lab.config.memoryLimit); // ...and no further
    await neighbourAnswers();
  });

  it('tmpfs: /tmp stops at its size, and /tmp and /dev stop at their inode caps', async () => {
    const result = await run(
      `dd if=/dev/zero of=/tmp/fill bs=1M count=200 2>&1 | grep -o 'No space left' | head -1; echo "size=$(stat -c %s /tmp/fill)"; rm -f /tmp/fill
      for d in /tmp /dev; do mkdir -p $d/inodes; i=0; while [ $i -lt 40000 ]; do : > $d/inodes/f$i 2>/dev/null || break; i=$((i+1)); done; echo "$d=$i"; rm -rf $d/inodes; done`,
      60_000,
    );
    const out = fields(result.stdout);
    expect(result.stdout).toContain('No space left');
    expect(Number(out.size)).toBeLessThanOrEqual(lab.config.tmpfsSize);
    expect(Number(out['/tmp'])).toBeLessThan(40_000);
    expect(Number(out['/dev'])).toBeLessThan(40_000);
  });

  it('file descriptors: cannot raise RLIMIT_NOFILE past 4096, and opening more fails with EMFILE', async () => {
    const result = await run(`ulimit -Hn 100000 2>/dev/null; echo "raise=$?"; ulimit -n 4096
      ${perl('my @fds; while (open(my $f, "<", "/dev/null")) { push @fds, $f; last if @fds > 100000 } print "opened=", scalar(@fds), "\\nerr=", $!+0, "\\n";')}`);
    const out = fields(result.stdout);
    expect(out.raise).not.toBe('0');
    expect(Number(out.opened)).toBeLessThan(4096);
    expect(out.err).toBe('24');
  });

  // Found by this suite: these budgets are counted per user up through every user namespace, and
  // each sandbox's namespace was charged to host root. Without the caps, one sandbox held all 128
  // of host root's inotify instances and every later inotify_init, on the host and in the
  // neighbour, failed; it queued 20,000 signals into host root's count; and it took all of host
  // root's POSIX message queue bytes. Tried by removing the caps (SANDBOX_RLIMITS in oci-spec.ts
  // and the limits in userns-limits.ts): each of these expectations then failed. Each sandbox's
  // namespaces are now owned by its own host uid; adversarial-identity.test.ts tries the same
  // budgets from several uids at once.
  it('inotify: holding all it may does not leave host root or a neighbour without', async () => {
    // Host root's budget is fs.inotify.max_user_instances, shared with every root process on the
    // machine. Count what is in use (inotify fds of all processes: an upper bound) to know whether
    // this host leaves room for one sandbox at its cap (host root's is no longer the sandbox's).
    const inUse = execFileSync('sh', ['-c', 'find /proc/[0-9]*/fd -lname "anon_inode:inotify" 2>/dev/null | wc -l'], { encoding: 'utf8' });
    const room = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8')) - Number(inUse);
    const hold = perl('my $n = 0; while ($n < 5000) { last if syscall(294, 0) < 0; $n++ } print "held=$n\\n"; sleep($ARGV[0]);', '6');
    const holding = run(hold);
    await sleep(2500);
    const make = perl('my $n = syscall(294, 0); print "made=", ($n >= 0 ? "yes" : $!+0), "\\n";');
    const hostMade = execFileSync('perl', ['-e', 'print syscall(294, 0) >= 0 ? "yes" : $!+0'], { encoding: 'utf8' });
    const neighbourMade = fields((await attack(neighbourClient, neighbour.sandbox.sandboxId, make)).stdout).made;
    const held = Number(fields((await holding).stdout).held);
    expect(held).toBeLessThanOrEqual(SANDBOX_USERNS_LIMITS.max_inotify_instances);
    if (room > SANDBOX_USERNS_LIMITS.max_inotify_instances + 2) {
      expect(hostMade).toBe('yes');
      expect(neighbourMade).toBe('yes');
    } else {
      console.log(`[inotify] host root has room for only ${room} more instances; the cap held (${held}), the rest depends on the host's sysctl`);
    }
  });

  it('queued signals: it adds at most RLIMIT_SIGPENDING to host root’s count', async () => {
    const sigq = () => Number(/^SigQ:\s+(\d+)\//m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const before = sigq();
    const queueing = run(
      `${perlFile('/tmp/blocked.pl', `use POSIX; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(34)) or die; open(my $f, ">", "/tmp/blocked.pid"); print $f $$; close $f; sleep 6;`)}
      perl /tmp/blocked.pl >/dev/null 2>&1 &
      sleep 1; p=$(cat /tmp/blocked.pid); i=0; while [ $i -lt 5000 ]; do kill -s RTMIN $p 2>/dev/null || break; i=$((i+1)); done
      echo "queued=$(awk '/^SigQ/ {print $2}' /proc/$p/status)"; wait`,
    );
    await sleep(3500);
    const during = sigq();
    const out = fields((await queueing).stdout);
    expect(Number(out.queued.split('/')[0])).toBeLessThanOrEqual(256);
    expect(during - before).toBeLessThanOrEqual(256 + 16);
  });

  it('POSIX message queues: it gets none of host root’s 800 KiB', async () => {
    const make = perl('my $name = "isolab$$"; my $fd = syscall(240, $name, 0100|02, 0600, 0); print "mq=", ($fd >= 0 ? "made" : $!+0), "\\n"; syscall(241, $name);');
    const result = await run(make);
    expect(fields(result.stdout).mq).toBe('24'); // EMFILE: RLIMIT_MSGQUEUE is 0
  });

  it('namespaces: it cannot pin more than its cap of network namespaces (each costs kernel memory its cgroup is only partly charged for)', async () => {
    const result = await run(`i=0; while [ $i -lt 200 ]; do ip netns add pin$i 2>/dev/null || break; i=$((i+1)); done; echo "held=$i"; ip -all netns delete 2>/dev/null; true`, 60_000);
    expect(Number(fields(result.stdout).held)).toBeLessThan(SANDBOX_USERNS_LIMITS.max_net_namespaces);
  });

  it('terminal output flood: a tab that stops acking receives at most the high-water mark, and Ctrl-C still works', async () => {
    const term = await TerminalDriver.open(attacker, id(), { keepText: false });
    await term.waitFor(`root@${mine.sandbox.hostname}:~#`);
    term.acking = false;
    let received = 0;
    const stop = attacker.on('terminal:output', ({ terminalId, data }) => {
      if (terminalId === term.terminalId) received += data.length;
    });
    term.run('yes isolab-flood-isolab-flood-isolab-flood');
    await sleep(3000);
    const stalled = received;
    await sleep(1000);
    expect(received).toBe(stalled); // paused: nothing more arrives while the tab does not ack
    expect(received).toBeLessThanOrEqual(FLOW_CONTROL.highWaterChars + 256 * 1024);
    expect(await healthz(lab)).toBe(200);
    term.type('\x03');
    term.acking = true;
    term.flushAck();
    await term.exec('echo after-flood', 30_000);
    stop();
    term.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
describe('lab-server’s process', () => {
  it('cannot see, ptrace, signal or read the memory of lab-server (it is not in the sandbox’s PID namespace)', async () => {
    const pid = process.pid; // startTestLab runs lab-server in this process
    const result = await run(`ls -d /proc/${pid} 2>/dev/null && echo VISIBLE; strace -p ${pid} -e trace=none 2>&1 | head -1
      ${perl(`my ($p, $z) = (${pid}, 0); print "kill=", (kill(0, $p) ? "ok" : $!+0), "\\n";
        print "ptrace=", (syscall(101, 16, $p, $z, $z) == 0 ? "ok" : $!+0), "\\n";
        print "pidfd=", (syscall(434, $p, $z) >= 0 ? "ok" : $!+0), "\\n";
        my $buf = "\\0" x 8; my $local = pack("QQ", unpack("Q", pack("p", $buf)), 8); my $remote = pack("QQ", 0x400000, 8);
        print "vm_readv=", (syscall(310, $p, $local, 1, $remote, 1, $z) >= 0 ? "ok" : $!+0), "\\n";`)}
      sleep 30 & s=$!; strace -p $s -e trace=none -o /dev/null & sleep 0.5; grep TracerPid /proc/$s/status; kill $s`);
    const out = fields(result.stdout);
    expect(result.stdout).not.toContain('VISIBLE');
    expect(result.stdout).toMatch(/No such process/);
    expect(out).toMatchObject({ kill: String(ESRCH), ptrace: String(ESRCH), pidfd: String(ESRCH), vm_readv: String(ESRCH) });
    // The control: ptrace works inside (strace is part of the lessons), on its own processes.
    expect(result.stdout).toMatch(/TracerPid:\s+[1-9]/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('privileges', () => {
  // Tried with noNewPrivileges off: passwd then ran with euid 0 (inside) and this failed.
  it('no_new_privs: a setuid-root binary run by an unprivileged user inside gains nothing', async () => {
    const result = await run(`for b in passwd su chfn; do setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/$b < <(sleep 3) >/dev/null 2>&1 & done
      sleep 1; ps -o comm=,euid=,ruid= -C passwd,su,chfn; grep NoNewPrivs /proc/self/status`);
    const rows = result.stdout.trim().split('\n').filter((l) => /^(passwd|su|chfn)\s/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.split(/\s+/)[1], row).toBe('65534');
    expect(result.stdout).toMatch(/NoNewPrivs:\s+1/);
  });

  it('holds exactly the documented capabilities, and every process runs as a mapped host uid (never host root), nested user namespaces included', async () => {
    const numbers: Record<string, number> = {
      CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8,
      CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21, CAP_SYS_TIME: 25, CAP_SETFCAP: 31,
    };
    const expected = SANDBOX_CAPABILITIES.reduce((mask, cap) => mask | (1n << BigInt(numbers[cap])), 0n);
    const result = await run(`grep -E '^Cap(Eff|Bnd)' /proc/self/status
      unshare -U sleep 20 >/dev/null 2>&1 & n=$!; sleep 0.3; echo "0 70000 1" > /proc/$n/uid_map 2>/dev/null && echo "MAPPED_OUTSIDE"; echo "0 0 1" > /proc/$n/uid_map && echo "mapped_own_root=yes"
      (setsid su -s /bin/sh nobody -c 'sleep 20' >/dev/null 2>&1 &) ; sleep 0.5`);
    for (const line of result.stdout.match(/^Cap(Eff|Bnd):\s+([0-9a-f]+)$/gm)!) expect(BigInt(`0x${line.split(/\s+/)[1]}`), line).toBe(expected);
    expect(result.stdout).not.toContain('MAPPED_OUTSIDE');
    expect(result.stdout).toContain('mapped_own_root=yes');
    const base = sandboxById(lab.server, id())!.hostUid!;
    const pids = sandboxProcesses(lab, id());
    expect(pids.length).toBeGreaterThan(2);
    for (const pid of pids) {
      const status = processStatus(pid);
      if (!status) continue;
      for (const uid of [...status.Uid.split(/\s+/), ...status.Gid.split(/\s+/)].map(Number)) {
        expect(uid, `pid ${pid} (${status.Name})`).toBeGreaterThanOrEqual(base);
        expect(uid).toBeLessThan(base + 65536);
      }
    }
  });
});

// Make sure the probes left the attacker's own sandbox working: containment, not collateral.
describe('afterwards', () => {
  it('the attacker’s sandbox, the neighbour and lab-server still work', async () => {
    expect((await run('echo still-here')).stdout).toContain('still-here');
    await neighbourAnswers();
  });
});
