/**
 * Adversarial probes for the kernel's global budgets and the kernel surface no lesson needs: each
 * runs from inside a sandbox, as root there, and asserts that the attack is contained and that a
 * neighbour does not notice. Results are read from the host side where the learner could fake them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { detectCgroupHost } from '../src/cgroups/host';
import { CHILD_CGROUP_LIMITS, cgroupPids } from '../src/cgroups/sandbox-cgroup';
import { LabError, startFailure } from '../src/errors';
import { ptysPerSandbox } from '../src/runtime/oci-spec';
import { attack, fields, healthz, perl, processStatus } from './support/attack';
import { openShell, type Shell } from './support/shell';
import { sleep } from './support/sleep';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;
let attacker: LabClient;
let mine: Shell;
let neighbourClient: LabClient;
let neighbour: Shell;

beforeAll(async () => {
  lab = await startTestLab();
  attacker = await lab.connect();
  neighbourClient = await lab.connect();
  [mine, neighbour] = await Promise.all([openShell(attacker, 'attacker'), openShell(neighbourClient, 'neighbour')]);
});
afterAll(() => lab?.close());

const run = (script: string, timeoutMs?: number) => attack(attacker, mine.sandbox.sandboxId, script, timeoutMs);
/** A sandbox of its own for a probe that gets its sandbox closed. */
async function throwaway(key: string): Promise<{ client: LabClient; shell: Shell }> {
  const client = await lab.connect();
  return { client, shell: await openShell(client, key) };
}

const EPERM = 1;
const ENOSPC = 28;

// ---------------------------------------------------------------------------------------------
// Every call below succeeds on this kernel without the profile (tried as host root and as root of
// a fresh `unshare -Urn`), so EPERM can only come from seccomp.
describe.skipIf(process.arch !== 'x64')('seccomp: kernel surface no lesson needs', () => {
  let answers: Record<string, string>;
  beforeAll(async () => {
    const result = await run(
      perl(
        `sub answer { my ($name, $r) = @_; print "$name=", ($r < 0 ? $!+0 : "ok"), "\\n" }
        # socket(domain, type, protocol); 524288 is SOCK_CLOEXEC, which must not slip past the filter.
        answer("vsock", syscall(41, 40, 1, 0));
        answer("xdp", syscall(41, 44, 3, 0));
        answer("netlink_netfilter", syscall(41, 16, 3, 12));
        answer("netlink_netfilter_cloexec", syscall(41, 16, 3 | 524288, 12));
        answer("netlink_xfrm", syscall(41, 16, 3, 6));
        answer("netlink_route", syscall(41, 16, 3, 0));
        answer("netlink_sock_diag", syscall(41, 16, 3, 4));
        my $ctx = pack("Q", 0);
        answer("io_setup", syscall(206, 65536, $ctx));
        my $z = 0;
        answer("modify_ldt", syscall(154, 0, $z, $z));
        answer("memfd_secret", syscall(447, 0));
        answer("set_mempolicy_home_node", syscall(450, 0, 0, 0, 0));
        for my $p (0x0, 0x8, 0x20000, 0x20008, 0xffffffff, 0x0040000, 0x0400000, 0x0100000, 0x80000000, 0xfffffffe, 0x100000000, 0x1) {
          answer(sprintf("personality_%x", $p), syscall(135, $p)); syscall(135, 0) }`,
      ),
    );
    answers = fields(result.stdout);
  });

  it.each([
    ['AF_VSOCK (not namespaced: the host’s vsock ports)', 'vsock'],
    ['AF_XDP', 'xdp'],
    ['netlink NETFILTER (nf_tables)', 'netlink_netfilter'],
    ['netlink NETFILTER with SOCK_CLOEXEC', 'netlink_netfilter_cloexec'],
    ['netlink XFRM (IPsec state)', 'netlink_xfrm'],
    ['io_setup (the host-wide AIO pool)', 'io_setup'],
    ['modify_ldt', 'modify_ldt'],
    ['memfd_secret', 'memfd_secret'],
    ['set_mempolicy_home_node', 'set_mempolicy_home_node'],
  ])('refuses %s with EPERM', (_label, name) => {
    expect(answers[name]).toBe(String(EPERM));
  });

  it('keeps NETLINK_ROUTE and SOCK_DIAG, so `ip link` and `ss -t` still work', async () => {
    expect(answers.netlink_route).toBe('ok');
    expect(answers.netlink_sock_diag).toBe('ok');
    const result = await run('ip link show lo && ss -t -a && echo tools=ok');
    expect(result.stdout).toContain('lo:');
    expect(result.stdout).toContain('State');
    expect(fields(result.stdout).tools).toBe('ok');
  });

  it('allows the personalities Docker allows (and linux32) and refuses the flags that weaken a process', async () => {
    for (const allowed of ['0', '8', '20000', '20008', 'ffffffff']) expect(answers[`personality_${allowed}`]).toBe('ok');
    // ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO, bit 31 alone, all but bit 0, a value
    // the kernel would truncate to 0, and a foreign persona.
    for (const refused of ['40000', '400000', '100000', '80000000', 'fffffffe', '100000000', '1']) expect(answers[`personality_${refused}`]).toBe(String(EPERM));
    const result = await run('linux32 uname -m; setarch -R true 2>&1; echo "norandom=$?"');
    expect(result.stdout).toMatch(/^i686$/m);
    expect(fields(result.stdout).norandom).not.toBe('0');
  });

  it('the same refusals hold in a nested user and network namespace', async () => {
    const result = await run(`unshare -Urn ${perl('print "nested_nf=", (syscall(41, 16, 3, 12) < 0 ? $!+0 : "ok"), "\\n"; my $c = pack("Q", 0); print "nested_aio=", (syscall(206, 1, $c) < 0 ? $!+0 : "ok"), "\\n";')}`);
    expect(fields(result.stdout)).toMatchObject({ nested_nf: String(EPERM), nested_aio: String(EPERM) });
  });

  it('the neighbour and lab-server did not notice', async () => {
    const result = await attack(neighbourClient, neighbour.sandbox.sandboxId, 'echo neighbour-ok');
    expect(result.stdout).toContain('neighbour-ok');
    expect(await healthz(lab)).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
describe('teardown against a frozen cgroup', () => {
  // Passes wrongly if the process never got into the frozen cgroup or was never frozen: both are
  // read from the host before the sandbox is closed. Without the thaw in teardown the process, its
  // 64 MiB and the cgroup directories stayed behind (tried: runc kill --all alone).
  it('a learner who freezes a child cgroup with a process in it and closes the sandbox leaves nothing behind', async () => {
    const client = await lab.connect();
    const { sandbox } = await openShell(client, 'frozen');
    const live = sandboxById(lab.server, sandbox.sandboxId)!;
    const cgroupDirs = live.cgroup.dirs;
    const sizeBefore = lab.server.lab.size;
    const result = await attack(
      client,
      sandbox.sandboxId,
      `if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then F=/sys/fs/cgroup/ice; M=$F; else F=/sys/fs/cgroup/freezer/ice; M=/sys/fs/cgroup/memory/ice; fi
      mkdir -p $F/deeper $M
      setsid perl -e 'sleep 1; my $x = "x" x (64 << 20); open(my $f, ">", "/tmp/ready"); close $f; sleep 1000' </dev/null >/dev/null 2>&1 &
      pid=$!; echo $pid > $M/cgroup.procs; echo $pid > $F/deeper/cgroup.procs
      while [ ! -e /tmp/ready ]; do sleep 0.1; done
      if [ -e $F/cgroup.freeze ]; then echo 1 > $F/cgroup.freeze; else echo FROZEN > $F/freezer.state; fi
      sleep 1; cat $F/freezer.state $F/cgroup.events 2>/dev/null | grep -E 'FROZEN|frozen 1' && echo frozen=yes`,
    );
    expect(fields(result.stdout).frozen).toBe('yes');
    const frozenDir = cgroupDirs.map((dir) => join(dir, 'ice', 'deeper')).find((dir) => cgroupPids(dir).length > 0)!;
    const [hog] = cgroupPids(frozenDir);
    expect(processStatus(hog)?.State).toMatch(/^[DS]/);
    expect(Number(processStatus(hog)?.VmRSS.split(' ')[0])).toBeGreaterThan(60 * 1024);

    await client.request('sandbox:close', { sandboxId: sandbox.sandboxId });
    // Gone, or a zombie waiting for the host's init to reap it: either way it holds no memory.
    expect(processStatus(hog)?.State ?? 'gone').toMatch(/^(gone|Z)/);
    expect(cgroupDirs.filter((dir) => existsSync(dir))).toEqual([]);
    expect(lab.server.lab.size).toBe(sizeBefore - 1);
    const health = (await (await fetch(`${lab.url}/healthz`)).json()) as { leftovers: unknown };
    expect(health.leftovers).toEqual({ sandboxes: 0, cgroups: 0, processes: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
describe('pseudo-terminals, a host-wide budget', () => {
  const hold = (count: number, ptmx: string) =>
    `cat > /tmp/hold.pl <<'ISOLAB_PERL'
my @held; for (1..${count}) { open(my $fh, "+<", "${ptmx}") or do { print "refused=", $!+0, "\\n"; last }; push @held, $fh }
print "held=", scalar(@held), "\\n"; STDOUT->flush; sleep 600;
ISOLAB_PERL
    setsid perl /tmp/hold.pl > /tmp/held 2>&1 < /dev/null &
    until grep -q held= /tmp/held; do sleep 0.1; done; cat /tmp/held`;

  // Without devpts max= the same loop held 3,070 ptys, all of the host's shared pool.
  it("a sandbox's /dev/pts holds only its share; the next open is refused with ENOSPC, and a neighbour still opens a terminal", async () => {
    const perSandbox = ptysPerSandbox(lab.config.maxTerminalsPerSandbox);
    const result = await run(hold(100, '/dev/ptmx'));
    const out = fields(result.stdout);
    expect(out.refused).toBe(String(ENOSPC));
    // The init shell's terminal holds one already.
    expect(Number(out.held)).toBe(perSandbox - 1);
    const terminal = await TerminalDriver.open(neighbourClient, neighbour.sandbox.sandboxId);
    await terminal.waitFor(`root@${neighbour.sandbox.hostname}:~# `);
  });

  // Root in the sandbox can remount its /dev/pts with a larger max, or mount a devpts of its own
  // (both were tried), and either draws from the host's pool without the cap. The budget watch
  // finds the sandbox that holds them and closes it. 400 stays far below the host's pool, so that
  // other labs on this machine do not notice the probe.
  it('a devpts of its own gets around the cap, and the budget watch closes the sandbox that holds too many', async () => {
    const { client, shell } = await throwaway('pty-hog');
    const closed = new Promise<{ reason: string; message: string }>((resolve) => client.on('sandbox:closed', (e) => e.sandboxId === shell.sandbox.sandboxId && resolve(e)));
    // The watch may close the sandbox before this check returns; its reason is the proof.
    void attack(client, shell.sandbox.sandboxId, `mkdir -p /tmp/own && mount -t devpts -o newinstance,ptmxmode=0666 devpts /tmp/own && ${hold(400, '/tmp/own/ptmx')}`).catch(() => undefined);
    const { reason, message } = await closed;
    expect(reason).toBe('budget');
    expect(message).toMatch(/more than \d+ terminals \(pseudo-terminals\), which all sandboxes share/);
    // The ptys went with it: a newcomer gets a sandbox, and the attacker's neighbour a terminal.
    const newcomer = await lab.connect();
    await openShell(newcomer, 'after-pty-hog');
    const terminal = await TerminalDriver.open(neighbourClient, neighbour.sandbox.sandboxId);
    await terminal.waitFor(`root@${neighbour.sandbox.hostname}:~# `);
  });

  it('a start that fails for want of ptys is reported as that, not as a full disk', () => {
    const runcOutput = '\u001b[31mERRO\u001b[0m[0000] runc run failed: unable to start container process: error during container init: open /dev/ptmx: no space left on device \r\n';
    const failure = startFailure(new LabError('SPAWN_FAILED', 'The sandbox could not be started.', { exitCode: 1, runcOutput }));
    expect(failure?.code).toBe('HOST_BUDGET');
    expect(failure?.message).toMatch(/run out of terminals \(pseudo-terminals/);
    const disk = startFailure(new LabError('SPAWN_FAILED', 'x', { runcOutput: 'write /run/isolab/runc/sbx-1/state.json: no space left on device' }));
    expect(disk?.code).toBe('DISK_FULL');
  });
});

// ---------------------------------------------------------------------------------------------
describe('child cgroups, a host-wide budget (memory-cgroup ids)', () => {
  // Without a cap, mkdir went on until the host's 65,535 memory-cgroup ids ran out.
  it(`a sandbox cannot keep more than ${CHILD_CGROUP_LIMITS.descendants} child cgroups`, async () => {
    const { client, shell } = await throwaway('cgroup-hog');
    const closed = new Promise<string>((resolve) => client.on('sandbox:closed', (e) => e.sandboxId === shell.sandbox.sandboxId && resolve(e.reason)));
    const dirs = sandboxById(lab.server, shell.sandbox.sandboxId)!.cgroup.dirs;
    const result = await attack(
      client,
      shell.sandbox.sandboxId,
      `if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then M=/sys/fs/cgroup; else M=/sys/fs/cgroup/memory; fi
      made=0; for i in $(seq 1 300); do mkdir $M/hog$i 2>/tmp/refused || break; made=$((made + 1)); done; echo "made=$made"; cat /tmp/refused`,
    );
    const made = Number(fields(result.stdout).made);
    if (detectCgroupHost().mode === 'v2') {
      // cgroup v2: the kernel refuses the mkdir beyond cgroup.max.descendants (the init leaf is one
      // of them). The loop stops at the first refusal: 300 mkdirs overran the check's 60 s in the
      // cgroup v2 stage's emulated VM.
      expect(made, result.stdout + result.stderr).toBeGreaterThan(0);
      expect(made, result.stdout + result.stderr).toBeLessThan(CHILD_CGROUP_LIMITS.descendants);
    } else {
      // cgroup v1 has no such limit: the budget watch closes the sandbox, and its cgroups go with it.
      expect(await closed).toBe('budget');
      // The learner is told at once; the teardown that removes the cgroups follows it.
      for (let poll = 0; poll < 300 && dirs.some((dir) => existsSync(dir)); poll++) await sleep(100);
      expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
    }
  });
});
