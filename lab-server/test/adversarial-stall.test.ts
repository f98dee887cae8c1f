/**
 * Adversarial probes of the outside review, class 1: lab-server's single thread is shared by the whole
 * class, so one sandbox must not be able to stall it. Each probe attacks from inside a sandbox
 * (or by calling the protocol as fast as a script can) and asserts what the other learners would
 * notice: their keystrokes still echo, they stay connected, no sandbox is reaped, /healthz
 * answers; and the attacker is slowed down or refused with a sentence that says why.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLOW_CONTROL, TERMINAL_LIMITS } from '../../protocol';
import type { LabClient } from '../../lib/lab-client';
import { PING_TIMEOUT_MS } from '../src/transport/socket-server';
import { attack, healthz } from './support/attack';
import { labChildEnv, removeLabChildFootprint, startLabChild, type LabChild } from './support/lab-child';
import { openShell, type Shell } from './support/shell';
import { sleep } from './support/sleep';
import { startTestLab, useTestLab, type TestLab, sandboxById } from './support/test-lab';

let lab: TestLab;
useTestLab({ env: { ISOLAB_MAX_RUNC_EXECS: '2', ISOLAB_CHECKS_PER_MINUTE: '6' } }, (context) => ({ lab } = context));

/** Screen-wide work for a few bytes: `ESC # 8` fills every cell, `ESC [ 999 S` scrolls 999 lines. */
const MIRROR_FLOOD = "while :; do printf '\\e#8\\e[999S\\e[99999999L%.0s' {1..500}; done";

/**
 * A terminal at the largest size that acknowledges output as soon as it arrives and renders
 * nothing: the attacker's best case (a rendering client would slow itself down first).
 */
async function rawTerminal(attacker: LabClient, sandboxId: string, terminalId: string) {
  attacker.on('terminal:output', ({ terminalId: id, data }) => {
    if (id === terminalId) attacker.send('terminal:ack', { terminalId, chars: Math.min(data.length, FLOW_CONTROL.highWaterChars) });
  });
  await attacker.request('terminal:open', { sandboxId, terminalId, cols: TERMINAL_LIMITS.maxCols, rows: TERMINAL_LIMITS.maxRows });
  return { type: (data: string) => attacker.send('terminal:input', { terminalId, data }) };
}

/** The neighbour is still served: connected, its sandbox alive, a command typed now echoes. */
async function expectNeighbourServed(neighbourClient: LabClient, neighbour: Shell, marker: string) {
  expect(neighbourClient.socket.connected).toBe(true);
  neighbour.term.run(`echo ${marker}-$((6*7))`);
  await neighbour.term.waitFor(`${marker}-42`);
  expect((await neighbourClient.request('sandbox:list', {})).map((s) => s.sandboxId)).toContain(neighbour.sandbox.sandboxId);
  expect(await healthz(lab)).toBe(200);
}

describe('one sandbox against lab-server’s thread', () => {
  it('floods its screen mirror with screen-wide escape sequences at the largest size: it is paused, the neighbour is served', async () => {
    const neighbourClient = await lab.connect();
    const neighbour = await openShell(neighbourClient, 'stall-neighbour');
    const attacker = await lab.connect();
    const sandbox = await attacker.request('sandbox:open', { key: 'mirror-flood' });
    const terminalId = sandbox.terminals[0].terminalId;
    const shell = await rawTerminal(attacker, sandbox.sandboxId, terminalId);
    shell.type(`${MIRROR_FLOOD}\r`);

    // The attacker's pty is paused for its mirror's cost: the program blocks, not lab-server.
    const terminal = sandboxById(lab.server, sandbox.sandboxId)!.terminal(terminalId)!;
    await expect.poll(() => terminal.mirrorThrottled, { timeout: 60_000 }).toBe(true);
    await expectNeighbourServed(neighbourClient, neighbour, 'DURING-FLOOD');
    expect(neighbourClient.socket.connected).toBe(true);

    // The attacker is slowed, not broken: Ctrl-C ends the loop and its own screen comes back.
    shell.type('\x03');
    shell.type('echo FLOOD-OVER-$((6*7))\r');
    const reopened = await attacker.request('terminal:open', { sandboxId: sandbox.sandboxId, terminalId, cols: 80, rows: 24 }, 120_000);
    expect(typeof reopened.snapshot).toBe('string');
    await expectNeighbourServed(neighbourClient, neighbour, 'AFTER-FLOOD');
    await attacker.request('sandbox:close', { sandboxId: sandbox.sandboxId });
  }, 180_000);

  it('fills the observatory with mount namespaces at long paths: scans stay bounded, the neighbour is served', async () => {
    const neighbourClient = await lab.connect();
    const neighbour = await openShell(neighbourClient, 'observe-neighbour');
    const attacker = await lab.connect();
    const sandbox = await attacker.request('sandbox:open', { key: 'mount-bomb' });
    // 100 tmpfs mounts at ~3,800-char paths, copied into 80 more mount namespaces.
    const bomb = await attack(
      attacker,
      sandbox.sandboxId,
      [
        "L=$(printf 'd%.0s' {1..250}); P=/tmp; for k in $(seq 15); do P=$P/$L; done; mkdir -p $P",
        `setsid unshare -m --propagation private bash -c "for i in \\$(seq 100); do mkdir -p $P/\\$i && mount -t tmpfs -o size=4k t $P/\\$i; done; for j in \\$(seq 80); do unshare -m sleep 3600 & done; sleep 3600" >/dev/null 2>&1 &`,
        'for i in $(seq 100); do [ "$(ls /proc/*/ns/mnt 2>/dev/null | wc -l)" -gt 80 ] && break; sleep 0.2; done',
        'echo namespaces=$(for p in /proc/[0-9]*; do readlink $p/ns/mnt; done 2>/dev/null | sort -u | wc -l)',
      ].join('\n'),
      60_000,
    );
    expect(Number(/namespaces=(\d+)/.exec(bomb.stdout)?.[1])).toBeGreaterThan(50);

    const maps: number[] = [];
    attacker.on('observe:ns-map', ({ nsMap }) => maps.push(nsMap.namespaces.length));
    await attacker.request('observe:subscribe', { sandboxId: sandbox.sandboxId, views: ['meters', 'hostView', 'nsMap'] });
    // The attacker still gets its map (bounded), and the neighbour is served meanwhile.
    await expect.poll(() => maps.length, { timeout: 60_000 }).toBeGreaterThan(0);
    await expectNeighbourServed(neighbourClient, neighbour, 'DURING-SCANS');
    await attacker.request('sandbox:close', { sandboxId: sandbox.sandboxId }, 60_000);
  }, 180_000);

  it('runs checks back to back: refused past the per-session rate with a sentence that says so; a neighbour’s check runs', async () => {
    const neighbourClient = await lab.connect();
    const neighbour = await openShell(neighbourClient, 'check-neighbour');
    const attacker = await lab.connect();
    const sandbox = await attacker.request('sandbox:open', { key: 'check-flood' });
    const refusals: Array<{ code: string; message: string }> = [];
    for (let i = 0; i < 40 && refusals.length === 0; i++) {
      await attacker.request('check:run', { sandboxId: sandbox.sandboxId, command: 'true' }).catch((error) => refusals.push(error));
    }
    expect(refusals[0]).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/^You have run 20 checks in quick succession; a check can run again in \d+ seconds? \(at most 6 a minute\)\.$/) });
    expect((await neighbourClient.request('check:run', { sandboxId: neighbour.sandbox.sandboxId, command: 'echo ok' })).stdout).toBe('ok\n');
    await attacker.request('sandbox:close', { sandboxId: sandbox.sandboxId });
  }, 120_000);

  it('holds every runc exec slot of the lab: further checks wait, then are refused as busy, and so is a new terminal', async () => {
    // This file's lab allows 2 runc execs at once; three learners each start a long check.
    const learners = await Promise.all([1, 2, 3].map(() => lab.connect()));
    const sandboxes = await Promise.all(learners.map((learner, i) => learner.request('sandbox:open', { key: `exec-slot-${i}` })));
    const checks = learners.map((learner, i) => learner.request('check:run', { sandboxId: sandboxes[i].sandboxId, command: 'sleep 14; echo done', timeoutMs: 20_000 }, 60_000).then((r) => r, (e) => e));
    await expect.poll(() => lab.server.execGate.inUse, { timeout: 30_000 }).toBe(2);
    await expect(learners[0].request('terminal:open', { sandboxId: sandboxes[0].sandboxId, cols: 80, rows: 24 })).rejects.toMatchObject({
      code: 'LAB_BUSY',
      message: 'The lab server is starting as many checks and terminals as it can right now. Try opening the terminal again in a few seconds.',
    });
    const results = await Promise.all(checks);
    const refused = results.filter((r) => r.code === 'LAB_BUSY');
    expect(refused).toHaveLength(1);
    expect(refused[0].message).toBe('The lab server is running as many checks and new terminals as it can right now. Try the check again in a few seconds.');
    expect(results.filter((r) => r.stdout === 'done\n')).toHaveLength(2);
    expect(await healthz(lab)).toBe(200);
  }, 120_000);
});

describe('lab-server’s own stalls', () => {
  it('do not count against a learner: a sandbox left during a stall longer than the grace period is still there after it', async () => {
    const stallLab = await startTestLab({ ISOLAB_GRACE_SECONDS: '2' });
    try {
      const learner = await stallLab.connect();
      const { sandbox, term } = await openShell(learner, 'stalled');
      // The tab goes away (a reload): the grace period starts.
      learner.send('terminal:detach', { terminalId: term.terminalId });
      await expect.poll(() => sandboxById(stallLab.server, sandbox.sandboxId)!.viewerCount).toBe(0);
      // lab-server's thread is held for longer than the grace period (as a stall would).
      const heldUntil = Date.now() + 3000;
      while (Date.now() < heldUntil);
      // The learner is back right after: the sandbox was not reaped for lab-server's own stall.
      const back = await learner.request('terminal:open', { sandboxId: sandbox.sandboxId, terminalId: term.terminalId, cols: 100, rows: 30 });
      expect(back.exited).toBe(false);
      expect(sandboxById(stallLab.server, sandbox.sandboxId)?.state).toBe('running');
    } finally {
      await stallLab.close();
    }
  }, 60_000);

  it('do not drop a learner by ping timeout: the pong that waited unread while lab-server was stopped past the ping timeout still counts', async () => {
    await withLabChild({}, async (child) => {
      const learner = await child.connect();
      const { sandbox, term } = await openShell(learner, 'ping-stall');
      const socketId = learner.socket.id;
      const drops: string[] = [];
      const dropped = new Promise<void>((resolve) => learner.socket.on('disconnect', (reason) => resolve(void drops.push(reason))));
      // lab-server stops just after it sent a ping, before the learner's pong (sent once this
      // handler returns) can reach it, and stays stopped past the ping's timeout.
      await new Promise<void>((resolve) => {
        const engine = learner.socket.io.engine;
        const onPacket = (packet: { type: string }) => {
          if (packet.type !== 'ping') return;
          engine.off('packet', onPacket);
          stopProcess(child);
          resolve();
        };
        engine.on('packet', onPacket);
      });
      await sleep(PING_TIMEOUT_MS + 2000);
      await resumeAfterStall(child);
      // The learner was not dropped: the same connection answers (before any drop would show), and the sandbox is there.
      const listed = learner.request('sandbox:list', {});
      listed.catch(() => {});
      await Promise.race([listed, dropped]);
      expect(drops).toEqual([]);
      expect((await listed).map((s) => s.sandboxId)).toContain(sandbox.sandboxId);
      expect(learner.socket.id).toBe(socketId);
      term.run('echo AFTER-PING-STALL-$((6*7))');
      await term.waitFor('AFTER-PING-STALL-42');
    });
  }, 90_000);

  it('do not count as idle time: a sandbox used just before a stall longer than the idle timeout is not closed as idle', async () => {
    const idleSeconds = 10;
    await withLabChild({ ISOLAB_IDLE_SECONDS: String(idleSeconds) }, async (child) => {
      const learner = await child.connect();
      const { sandbox, term } = await openShell(learner, 'idle-stall');
      const closed: string[] = [];
      learner.on('sandbox:closed', (event) => event.sandboxId === sandbox.sandboxId && closed.push(event.reason));
      // The stall starts right after a ping, so that it does not also outlast the learner's own
      // wait for the next one (20 s); the learner keeps typing until then.
      const typing = setInterval(() => term.run(':'), 1000);
      await new Promise<void>((resolve) => learner.socket.io.engine.once('ping', () => resolve()));
      clearInterval(typing);
      // The learner's last keystroke reaches lab-server, then lab-server stops for longer than the idle timeout.
      term.run('echo BEFORE-STALL-$((6*7))');
      await term.waitFor('BEFORE-STALL-42');
      stopProcess(child);
      await sleep(idleSeconds * 1000 + 2000);
      await resumeAfterStall(child);
      expect((await learner.request('sandbox:list', {})).map((s) => s.sandboxId)).toContain(sandbox.sandboxId);
      expect(closed).toEqual([]);
      term.run('echo AFTER-IDLE-STALL-$((6*7))');
      await term.waitFor('AFTER-IDLE-STALL-42');
    });
  }, 90_000);
});

/** A lab-server of its own in a child process, so that the test can stop it while its learner's side runs on. */
async function withLabChild(env: Record<string, string>, body: (child: LabChild) => Promise<void>): Promise<void> {
  const childEnv = await labChildEnv(env);
  const child = await startLabChild(childEnv);
  try {
    await body(child);
  } finally {
    child.process.kill('SIGCONT');
    await child.stop();
    await removeLabChildFootprint(childEnv);
  }
}

/**
 * Stops lab-server's process, as a host too busy to run it would, and returns once it is stopped:
 * synchronously, so that nothing more of this process (a pong, a keystroke) goes out before.
 */
function stopProcess(child: LabChild): void {
  const pid = child.process.pid!;
  process.kill(pid, 'SIGSTOP');
  while (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'T');
}

/**
 * Lets lab-server run again, and returns once it has logged the stall: that is its heartbeat,
 * a timer, so its other overdue timers (ping timeouts, the idle sweep) have run in the same turn.
 */
async function resumeAfterStall(child: LabChild): Promise<void> {
  child.process.kill('SIGCONT');
  await expect.poll(() => child.output(), { timeout: 30_000 }).toMatch(/"code":"LOOP_STALLED"/);
}
