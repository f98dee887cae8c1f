/**
 * Adversarial probes of the sandbox's host identity (the outside review's classes 2 and 5).
 *
 * The kernel keeps many budgets per host user. When every sandbox's root was the same host uid,
 * one sandbox could spend the whole lab's share: shrink every new pipe to 8 KiB, make every new
 * terminal fail with 17 `sendmsg` calls, crash runc exec by taking the epoll watches; and the
 * per-namespace caps held per uid, so `setpriv --reuid` multiplied them. Each probe here exhausts
 * one budget from inside a sandbox, checks that it really is exhausted there (the control), and
 * asserts that a neighbour does not notice.
 *
 * Epoll watches are per host user too (fs.epoll.max_user_watches), but not probed here: the
 * budget is 4% of RAM (5.5 million watches on a 24 GB host), and a sandbox's memory limit stops it
 * long before (each watch is charged to its memory cgroup). Sharing one uid, about five sandboxes
 * together reached it; with a uid range each, none can.
 *
 * An attack that holds a budget runs in the attacker's terminal and prints a HELD line; the probe
 * of the neighbour runs while it holds, and a keystroke releases it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readlinkSync, readSync, readdirSync, realpathSync, rmSync, closeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabClient } from '../../lib/lab-client';
import { SANDBOX_RLIMITS } from '../src/runtime/oci-spec';
import { SANDBOX_USERNS_LIMITS } from '../src/runtime/userns-limits';
import { attack, fields, healthz, perl, perlFile, uniqueName } from './support/attack';
import { openShell, type Shell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;
let neighbourClient: LabClient;
let neighbour: Shell;

beforeAll(async () => {
  lab = await startTestLab();
  neighbourClient = await lab.connect();
  neighbour = await openShell(neighbourClient, 'neighbour');
});
afterAll(() => lab?.close());

/** A fresh attacker sandbox for one probe. */
async function attacker(key: string): Promise<{ client: LabClient; shell: Shell; run: (script: string, timeoutMs?: number) => ReturnType<typeof attack> }> {
  const client = await lab.connect();
  const shell = await openShell(client, key);
  return { client, shell, run: (script, timeoutMs) => attack(client, shell.sandbox.sandboxId, script, timeoutMs) };
}

/**
 * Runs `command` in the attacker's terminal until it prints "HELD ...", returns those fields, and
 * gives back a function that releases the hold (a keystroke the command waits for).
 */
async function hold(shell: Shell, command: string, timeoutMs = 60_000): Promise<{ held: Record<string, string>; release: () => Promise<void> }> {
  shell.term.run(command);
  const match = await shell.term.waitFor(/HELD (.*) HOLDING/, timeoutMs);
  const held = fields(match[1].split(' ').join('\n'));
  return {
    held,
    release: async () => {
      shell.term.type('\r');
      await shell.term.waitFor(/RELEASED/, 30_000);
    },
  };
}

const neighbourRun = (script: string) => attack(neighbourClient, neighbour.sandbox.sandboxId, script);

/** The neighbour opens a new terminal and gets a prompt: what every learner does all day. */
async function neighbourOpensTerminal(): Promise<void> {
  const term = await TerminalDriver.open(neighbourClient, neighbour.sandbox.sandboxId);
  await term.waitFor(`root@${neighbour.sandbox.hostname}:~# `, 30_000);
  expect(await term.exec('echo fresh-terminal')).toContain('fresh-terminal');
  term.dispose();
  await neighbourClient.request('terminal:close', { terminalId: term.terminalId }).catch(() => undefined);
}

/** Other uids a learner can switch to as root inside (setpriv --reuid, su). */
const OTHER_UIDS = [1000, 1001, 1002, 1003];

// ---------------------------------------------------------------------------------------------
describe('host identity', () => {
  it('two sandboxes run as different host uid ranges, and each sees the shared rootfs as its own root’s, read-only', async () => {
    const { client, shell, run } = await attacker('identity');
    const mine = sandboxById(lab.server, shell.sandbox.sandboxId)!;
    const theirs = sandboxById(lab.server, neighbour.sandbox.sandboxId)!;
    const hostUid = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    // Seen from the host, where the learner cannot fake it.
    expect(hostUid(mine.initPid()!)).toBe(mine.hostUid);
    expect(hostUid(theirs.initPid()!)).toBe(theirs.hostUid);
    expect(Math.abs(mine.hostUid! - theirs.hostUid!)).toBeGreaterThanOrEqual(65536); // disjoint ranges
    for (const sandbox of [mine, theirs]) expect(sandbox.hostUid).toBeGreaterThan(lab.config.uidBase); // not the rootfs's own range
    const result = await run(`stat -c 'owner=%u' /bin/bash; cat /proc/self/uid_map | awk '{print "map=" $2}'
      mount -o remount,bind,rw / 2>/dev/null; echo "remount=$?"; touch /usr/bin/isolab-probe 2>/dev/null; echo "write=$?"`);
    const out = fields(result.stdout);
    expect(out.owner).toBe('0'); // root's files, as in any Debian
    expect(Number(out.map)).toBe(mine.hostUid);
    expect(out.remount).not.toBe('0'); // the view is locked read-only
    expect(out.write).not.toBe('0');
    // A host uid range is given back when its sandbox ends, and is never shared while it lives.
    const closedUid = mine.hostUid;
    await client.request('sandbox:close', { sandboxId: shell.sandbox.sandboxId });
    const next = await attacker('identity-next');
    const nextUid = sandboxById(lab.server, next.shell.sandbox.sandboxId)!.hostUid;
    expect(nextUid).not.toBe(theirs.hostUid);
    expect(nextUid).toBe(closedUid);
    await next.client.request('sandbox:close', { sandboxId: next.shell.sandbox.sandboxId });
  });

  it('a second lab on the same host runs its sandboxes as host uids the first never hands out', async () => {
    // Two labs on one host: a cluster tried on one machine, two classes, test files in parallel.
    // When both counted identities from the same start, their first sandboxes shared a host uid
    // and so every per-uid kernel budget (a neighbour in the other lab queued 0 signals of 10).
    const other = await startTestLab();
    try {
      const client = await other.connect();
      const shell = await openShell(client, 'other-lab');
      const uid = sandboxById(other.server, shell.sandbox.sandboxId)!.hostUid!;
      const [first, second] = [lab.server.hostUids, other.server.hostUids];
      expect(uid).toBeGreaterThanOrEqual(second.first);
      expect(uid).toBeLessThanOrEqual(second.last);
      expect(second.first > first.last || second.last < first.first).toBe(true); // disjoint
      expect(uid).not.toBe(sandboxById(lab.server, neighbour.sandbox.sandboxId)!.hostUid);
      client.close();
    } finally {
      await other.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('per-user kernel budgets are the sandbox’s own', () => {
  it('pipe pages: a sandbox that fills its pipe budget shrinks only its own new pipes', async () => {
    const { shell, run } = await attacker('pipes');
    // F_SETPIPE_SZ (1031) to 1 MiB until the kernel refuses (fs.pipe-user-pages-soft reached),
    // then F_GETPIPE_SZ (1032) of a new pipe.
    await run(
      perlFile(
        '/tmp/pipes.pl',
        `my @pipes; my $n = 0;
        while ($n < 4000) { pipe(my $r, my $w) or last; defined(fcntl($w, 1031, 1048576)) or last; push @pipes, [$r, $w]; $n++ }
        pipe(my $r, my $w) or die; my $size = fcntl($w, 1032, 0);
        print "HELD pipes=$n newpipe=$size HOLDING\\n"; <STDIN>; print "RELEASED\\n";`,
      ),
    );
    const { held, release } = await hold(shell, 'perl /tmp/pipes.pl');
    expect(Number(held.pipes)).toBeGreaterThan(0);
    expect(Number(held.newpipe)).toBeLessThanOrEqual(8192); // the control: its budget is spent
    const theirs = await neighbourRun(perl('pipe(my $r, my $w) or die; print "newpipe=", fcntl($w, 1032, 0), "\\n";'));
    expect(Number(fields(theirs.stdout).newpipe)).toBe(65536); // a full-size pipe
    await release();
  });

  it('file descriptors in flight: a sandbox at its limit cannot stop a neighbour from opening a terminal', async () => {
    const { shell, run } = await attacker('inflight');
    // sendmsg (46) of 250 fds each over a unix socket nobody reads, until the kernel refuses with
    // ETOOMANYREFS (109): this uid's in-flight fds passed its RLIMIT_NOFILE.
    await run(
      perlFile(
        '/tmp/inflight.pl',
        `use Socket;
        socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
        open(my $f, '<', '/dev/null') or die;
        my $n = 250; my $data = "x";
        my $iov = pack('QQ', unpack('Q', pack('p', $data)), 1);
        my $control = pack('QiI', 16 + 4 * $n, 1, 1) . pack('i*', (fileno($f)) x $n);
        $control .= "\\0" x ((8 - length($control) % 8) % 8);
        my $msg = pack('QIx4QQQQix4', 0, 0, unpack('Q', pack('p', $iov)), 1, unpack('Q', pack('p', $control)), length($control), 0);
        my ($sent, $err) = (0, 0);
        for (1 .. 100) { if (syscall(46, fileno($a), $msg, 0x40) < 0) { $err = $! + 0; last } $sent++ }
        print "HELD sent=$sent err=$err HOLDING\\n"; <STDIN>; print "RELEASED\\n";`,
      ),
    );
    const { held, release } = await hold(shell, 'perl /tmp/inflight.pl');
    expect(held.err).toBe('109'); // the control: ETOOMANYREFS, its budget is spent
    expect(Number(held.sent) * 250).toBeGreaterThan(SANDBOX_RLIMITS.nofile.soft);
    await neighbourOpensTerminal(); // runc hands the new terminal over with SCM_RIGHTS
    await release();
  });
});

// ---------------------------------------------------------------------------------------------
describe('per-sandbox caps hold whatever uid a learner switches to', () => {
  /** A Perl program that forks one child per uid, each running `body` as that uid, and sums what they print. */
  const perUid = (body: string) =>
    `use POSIX; my ($total, @kids) = (0);
    for my $u (0, ${OTHER_UIDS.join(', ')}) {
      pipe(my $r, my $w) or die;
      my $pid = fork();
      if ($pid == 0) { close $r; POSIX::setgid($u); POSIX::setuid($u) or die "setuid: $!"; my $n = do { ${body} }; print $w "$n\\n"; close $w; sleep 600; exit 0 }
      close $w; my $n = <$r>; chomp $n; $total += $n; push @kids, $pid; print "uid$u=$n\\n";
    }
    print "HELD total=$total HOLDING\\n"; <STDIN>; kill 9, @kids; waitpid($_, 0) for @kids; print "RELEASED\\n";`;

  it('inotify: five uids together hold no more than the sandbox’s cap, and host root and a neighbour can still make instances', async () => {
    const { shell, run } = await attacker('inotify');
    // inotify_init (253 on x86_64 is inotify_init; 294 is inotify_init1) until it fails.
    await run(perlFile('/tmp/inotify.pl', perUid('my $n = 0; while ($n < 1000) { last if syscall(294, 0) < 0; $n++ } $n')));
    const { held, release } = await hold(shell, 'perl /tmp/inotify.pl');
    expect(Number(held.total)).toBeGreaterThan(0);
    expect(Number(held.total)).toBeLessThanOrEqual(SANDBOX_USERNS_LIMITS.max_inotify_instances);
    const hostMade = execFileSync('perl', ['-e', 'print syscall(294, 0) >= 0 ? "yes" : $!+0'], { encoding: 'utf8' });
    expect(hostMade).toBe('yes');
    const theirs = await neighbourRun(perl('print "made=", (syscall(294, 0) >= 0 ? "yes" : $! + 0), "\\n";'));
    expect(fields(theirs.stdout).made).toBe('yes');
    await release();
  });

  it('queued signals: five uids together queue no more than RLIMIT_SIGPENDING, and a neighbour can still queue', async () => {
    const { shell, run } = await attacker('signals');
    // Each uid blocks SIGRTMIN (34) and queues it to itself 1000 times; SigQ counts what queued.
    await run(
      perlFile(
        '/tmp/signals.pl',
        perUid(`sigprocmask(SIG_BLOCK, POSIX::SigSet->new(34)) or die; kill(34, $$) for 1 .. 1000;
          open(my $s, '<', '/proc/self/status') or die; my ($q) = map { /^SigQ:\\s+(\\d+)/ ? $1 : () } <$s>; $q`),
      ),
    );
    const { held, release } = await hold(shell, 'perl /tmp/signals.pl');
    expect(Number(held.total)).toBeGreaterThan(0);
    expect(Number(held.total)).toBeLessThanOrEqual(SANDBOX_RLIMITS.sigpending.hard);
    const theirs = await neighbourRun(
      perl('use POSIX; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(34)) or die; kill(34, $$) for 1 .. 10; open(my $s, "<", "/proc/self/status"); my ($q) = map { /^SigQ:\\s+(\\d+)/ ? $1 : () } <$s>; print "queued=$q\\n";'),
    );
    expect(Number(fields(theirs.stdout).queued)).toBeGreaterThanOrEqual(10);
    await release();
  });

  it('network namespaces: five uids together pin no more than the sandbox’s cap, and a neighbour can still make one', async () => {
    const { shell, run } = await attacker('netns');
    // Each uid makes a user namespace of its own (unshare, 272), then network namespaces in it,
    // each kept alive by an open /proc/self/ns/net, until the kernel refuses.
    await run(
      perlFile(
        '/tmp/netns.pl',
        perUid(`my $n = 0; my @keep; if (syscall(272, 0x10000000) == 0) { while ($n < 200) { last if syscall(272, 0x40000000) < 0; open(my $ns, '<', '/proc/self/ns/net') or last; push @keep, $ns; $n++ } } our @kept = @keep; $n`),
      ),
    );
    const { held, release } = await hold(shell, 'perl /tmp/netns.pl', 120_000);
    expect(Number(held.total)).toBeGreaterThan(0);
    expect(Number(held.total)).toBeLessThanOrEqual(SANDBOX_USERNS_LIMITS.max_net_namespaces);
    const theirs = await neighbourRun('unshare --net true && echo made=yes');
    expect(fields(theirs.stdout).made).toBe('yes');
    await release();
  });
});

// ---------------------------------------------------------------------------------------------
describe('host code never runs in a sandbox’s namespaces', () => {
  /**
   * A binfmt_misc handler for the host's /bin/sh, registered in the sandbox's own user namespace
   * (Linux >= 6.7 gives each user namespace its own binfmt_misc). Any host program that entered
   * the namespace and ran /bin/sh would run the learner's tripwire instead, on the host side,
   * where it writes a marker to the host's /tmp. lab-server used to do exactly that
   * (`nsenter --user -- /bin/sh`) for every sandbox.
   */
  it('a binfmt_misc handler for /bin/sh in the learner’s user namespace never runs on the host side', async () => {
    const { client, shell, run } = await attacker('binfmt');
    const marker = `/tmp/${uniqueName('isolab-binfmt')}`;
    // The first 64 bytes of the host's /bin/sh (its ELF header) are the handler's magic.
    const header = Buffer.alloc(64);
    const fd = openSync(realpathSync('/bin/sh'), 'r');
    readSync(fd, header, 0, 64, 0);
    closeSync(fd);
    const magic = [...header].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('');
    const setup = await run(`mkdir -p /tmp/binfmt && mount -t binfmt_misc binfmt_misc /tmp/binfmt 2>/dev/null || { echo mounted=no; exit 0; }
      echo mounted=yes
      printf '#!/usr/bin/perl\\nopen(my $f, ">>", "${marker}"); print $f "ran uid=$< pidns=", readlink("/proc/self/ns/pid"), "\\\\n";\\n' > /tmp/tripwire; chmod 755 /tmp/tripwire
      printf '%s' ':isolabsh:M::${magic}::/tmp/tripwire:F' > /tmp/binfmt/register && echo registered=yes
      printf '${magic}' > /tmp/fake-sh; head -c 4096 /dev/zero >> /tmp/fake-sh; chmod 755 /tmp/fake-sh; /tmp/fake-sh; cat ${marker} 2>/dev/null | sed 's/^/inside: /'`);
    const out = fields(setup.stdout);
    if (out.mounted === 'no') {
      // This kernel has no binfmt_misc per user namespace: the learner cannot register anything.
      console.log('[binfmt] binfmt_misc cannot be mounted in a user namespace on this kernel; nothing to hijack');
    } else {
      expect(out.registered).toBe('yes');
      expect(setup.stdout).toMatch(/^inside: ran/m); // the control: the handler matches and runs
    }
    // Everything lab-server does to a running sandbox: a new terminal, a check, the host view
    // and namespace map, and the teardown; and a new sandbox starting beside it.
    const term = await TerminalDriver.open(client, shell.sandbox.sandboxId);
    await term.waitFor(`root@${shell.sandbox.hostname}:~# `, 30_000);
    expect((await run('echo check-ran')).stdout).toContain('check-ran');
    const hostViewSeen = new Promise<void>((resolve) => {
      const stop = client.on('observe:host-view', () => {
        stop();
        resolve();
      });
    });
    await client.request('observe:subscribe', { sandboxId: shell.sandbox.sandboxId, views: ['hostView', 'nsMap'] });
    await hostViewSeen;
    const sandbox = sandboxById(lab.server, shell.sandbox.sandboxId)!;
    // No host process (outside the sandbox's PID namespace) is in the sandbox's user namespace.
    const userns = readlinkSync(`/proc/${sandbox.initPid()}/ns/user`);
    const pidns = readlinkSync(`/proc/${sandbox.initPid()}/ns/pid`);
    const hostSide = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/ns/user`) === userns && readlinkSync(`/proc/${pid}/ns/pid`) !== pidns;
        } catch {
          return false;
        }
      });
    expect(hostSide).toEqual([]);
    const other = await attacker('binfmt-next');
    await other.client.request('sandbox:close', { sandboxId: other.shell.sandbox.sandboxId });
    await client.request('sandbox:close', { sandboxId: shell.sandbox.sandboxId });
    term.dispose();
    expect(existsSync(marker)).toBe(false); // the host's /tmp: the tripwire never ran out here
    rmSync(marker, { force: true });
    expect(await healthz(lab)).toBe(200);
  });
});

