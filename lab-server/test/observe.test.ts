/**
 * Observing real sandboxes: the meters move when the learner loads the sandbox, the kernel's
 * interventions show up as events, the host view lists exactly the sandbox's processes, the
 * namespace map follows `unshare` and `ip netns add`, and nobody can watch another session's
 * sandbox.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostView, MeterSample, NamespaceMap, ObserveEvent, ObserveView } from '../../protocol';
import { LabRequestError, type LabClient } from '../../lib/lab-client';
import { bound, boundSeconds } from './support/slowdown';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, type TestLab, sandboxById } from './support/test-lab';

const MiB = 1024 * 1024;

/** Everything one client received about one sandbox since it subscribed. */
class Observation {
  meters: MeterSample[] = [];
  events: ObserveEvent[] = [];
  hostView: HostView | undefined;
  nsMap: NamespaceMap | undefined;
  private readonly off: Array<() => void>;

  private constructor(
    private readonly client: LabClient,
    readonly sandboxId: string,
  ) {
    const mine = (id: string) => id === sandboxId;
    this.off = [
      client.on('observe:meters', ({ sandboxId: id, sample }) => mine(id) && this.meters.push(sample)),
      client.on('observe:event', ({ sandboxId: id, event }) => mine(id) && this.events.push(event)),
      client.on('observe:host-view', ({ sandboxId: id, hostView }) => mine(id) && (this.hostView = hostView)),
      client.on('observe:ns-map', ({ sandboxId: id, nsMap }) => mine(id) && (this.nsMap = nsMap)),
    ];
  }

  static async start(client: LabClient, sandboxId: string, views: ObserveView[]): Promise<Observation> {
    const observation = new Observation(client, sandboxId);
    await client.request('observe:subscribe', { sandboxId, views });
    return observation;
  }

  get latest(): MeterSample | undefined {
    return this.meters.at(-1);
  }

  until<T>(what: string, read: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
    return pollUntil(what, read, timeoutMs, () => `Last meters: ${JSON.stringify(this.latest?.stats)}; events: ${JSON.stringify(this.events.map((e) => e.kind))}`);
  }

  async stop(): Promise<void> {
    for (const off of this.off) off();
    await this.client.request('observe:unsubscribe', { sandboxId: this.sandboxId });
  }
}

/** Polls until `read` returns something, failing with `what` and the state it last saw. */
async function pollUntil<T>(what: string, read: () => T | undefined | null | false, timeoutMs = 30_000, state = () => ''): Promise<T> {
  const deadline = Date.now() + bound(timeoutMs);
  for (;;) {
    const value = read();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}. ${state()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A child cgroup with one limit, in the layout of the host (the lessons do the same). */
function childCgroup(name: string, v2Setup: string, v1Controller: string, v1Setup: string): string {
  return (
    `if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then cg=/sys/fs/cgroup/${name}; mkdir -p $cg; ${v2Setup}; ` +
    `else cg=/sys/fs/cgroup/${v1Controller}/${name}; mkdir -p $cg; ${v1Setup}; fi`
  );
}

let lab: TestLab;
let client: LabClient;
let sandboxId: string;
let term: TerminalDriver;

beforeAll(async () => {
  lab = await startTestLab();
  client = await lab.connect();
  const sandbox = await client.request('sandbox:open', { key: 'observe' });
  sandboxId = sandbox.sandboxId;
  term = await TerminalDriver.open(client, sandboxId, { terminalId: sandbox.terminals[0].terminalId, cols: 200 });
  await term.waitFor(`root@${sandbox.hostname}`);
});
afterAll(() => lab.close());
afterEach(async () => {
  // Whatever a test left running in the background goes, so the next one starts from a quiet sandbox.
  // stress-ng's workers outlive a killed parent, so they are ended by name.
  await term.exec('kill -9 $(jobs -p) 2>/dev/null; pkill -9 -f stress-ng; wait 2>/dev/null; true');
});

describe('cgroup meters', () => {
  it('shows the memory figure rising while stress-ng holds 128M, under the 256M limit', async () => {
    const watch = await Observation.start(client, sandboxId, ['meters']);
    const before = (await watch.until('a first reading', () => watch.latest)).stats.memory;
    expect(before.limitBytes).toBe(256 * MiB);
    term.run('stress-ng --vm 1 --vm-bytes 128M --vm-keep --timeout 60 > /dev/null 2>&1 &');
    const during = await watch.until('memory use to rise by 100M', () => watch.meters.find((s) => s.stats.memory.currentBytes > before.currentBytes + 100 * MiB)?.stats.memory);
    expect(during.currentBytes).toBeLessThanOrEqual(256 * MiB);
    expect(during.peakBytes).toBeGreaterThanOrEqual(during.currentBytes);
    await watch.stop();
  });

  it('shows an OOM kill on the timeline when a hog outgrows the sandbox, and counts it for operators', async () => {
    const watch = await Observation.start(client, sandboxId, ['meters']);
    await watch.until('a first reading', () => watch.latest);
    await term.exec(`stress-ng --vm 1 --vm-bytes 400M --oomable --timeout ${boundSeconds(10)} > /dev/null 2>&1`, 30_000);
    const event = await watch.until('an OOM-kill event', () => watch.events.find((e) => e.kind === 'oom-kill'));
    expect(event.message).toMatch(/OOM killer/);
    expect(watch.latest!.stats.memory.oomKills).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${lab.url}/metrics`)).text();
    expect(Number(/^isolab_oom_kills_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    await watch.stop();
  });

  it('shows an OOM kill inside a child cgroup the learner limited to 16M', async () => {
    const watch = await Observation.start(client, sandboxId, ['meters']);
    const before = (await watch.until('a first reading', () => watch.latest)).stats.memory.oomKills;
    const setup = childCgroup(
      'small',
      'echo 16M > $cg/memory.max; echo 0 > $cg/memory.swap.max 2>/dev/null',
      'memory',
      'echo 16M > $cg/memory.limit_in_bytes; echo 16M > $cg/memory.memsw.limit_in_bytes 2>/dev/null',
    );
    await term.exec(`${setup}; sh -c "echo \\$\\$ > $cg/cgroup.procs; exec stress-ng --vm 1 --vm-bytes 64M --oomable --timeout ${boundSeconds(10)}" > /dev/null 2>&1`, 30_000);
    await watch.until('an OOM-kill event', () => watch.events.find((e) => e.kind === 'oom-kill'));
    expect(watch.latest!.stats.memory.oomKills).toBeGreaterThan(before);
    await watch.stop();
  });

  it('has pids.current follow a loop of `sleep &`, up and back down', async () => {
    const watch = await Observation.start(client, sandboxId, ['meters']);
    const before = (await watch.until('a first reading', () => watch.latest)).stats.pids;
    expect(before.max).toBe(256);
    await term.exec('for i in $(seq 10); do sleep 100 & done');
    await watch.until('10 more processes', () => watch.latest!.stats.pids.current >= before.current + 10);
    await term.exec('kill $(jobs -p); wait');
    await watch.until('the count back down', () => watch.latest!.stats.pids.current <= before.current);
    await watch.stop();
  });

  it('shows a fork refused at pids.max in a child cgroup', async () => {
    const watch = await Observation.start(client, sandboxId, ['meters']);
    await watch.until('a first reading', () => watch.latest);
    const setup = childCgroup('few', 'echo 3 > $cg/pids.max', 'pids', 'echo 3 > $cg/pids.max');
    await term.exec(`${setup}; sh -c "echo \\$\\$ > $cg/cgroup.procs; for i in 1 2 3 4 5; do sleep 1 & done; wait" 2>/dev/null`);
    const event = await watch.until('a fork-refused event', () => watch.events.find((e) => e.kind === 'fork-refused'));
    expect(event.message).toMatch(/pids\.max/);
    await watch.stop();
  });

  it('shows CPU use near the 0.5 CPU quota and throttling starting under a CPU hog', async () => {
    const watch = await Observation.start(client, sandboxId, ['meters']);
    await watch.until('a first reading', () => watch.latest);
    term.run('stress-ng --cpu 2 --timeout 20 > /dev/null 2>&1 &');
    await watch.until('a throttling-started event', () => watch.events.find((e) => e.kind === 'throttling-started'));
    const busy = await watch.until('CPU use above 0.3', () => watch.meters.find((s) => (s.cpuUsage ?? 0) > 0.3));
    // The quota caps it: 2 busy workers get half a CPU, not two. Measured over two seconds: one
    // sample's interval is only as exact as the host is quick to read it (in the cgroup v2 VM, on
    // a busy host, one interval once read 1.11).
    const later = await watch.until('a reading two seconds later', () => watch.meters.find((s) => s.at >= busy.at + 2000));
    expect((later.stats.cpu.usageUsec - busy.stats.cpu.usageUsec) / 1e6 / ((later.at - busy.at) / 1000)).toBeLessThan(1);
    expect(busy.stats.cpu.quotaUsec! / busy.stats.cpu.periodUsec).toBe(0.5);
    await watch.stop();
  });
});

describe('the host view', () => {
  it('lists exactly the processes ps shows inside, with their host pids, and no host process', async () => {
    // A fresh sandbox, so that nothing the meter tests left dying can come and go between the two lists.
    const fresh = await client.request('sandbox:open', { key: 'host-view' });
    const sandboxId = fresh.sandboxId;
    const term = await TerminalDriver.open(client, sandboxId, { terminalId: fresh.terminals[0].terminalId, cols: 200 });
    await term.waitFor(`root@${fresh.hostname}`);
    await term.exec('sleep 101 & sleep 102 & true');
    // Wait until both have exec'd (a forked shell shows as bash for a moment), then list.
    const ps = await term.exec("until [ $(ps -eo args= | grep -cx 'sleep 10[12]') = 2 ]; do sleep 0.1; done; ps -ww -eo pid=,args=");
    const inside = ps
      .split('\n')
      .map((line) => /^\s*(\d+)\s+(.*?)\s*$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null && !m[2].startsWith('ps -ww'))
      .map((m) => `${m[1]} ${m[2]}`)
      .sort();
    expect(inside).toEqual(expect.arrayContaining([expect.stringMatching(/^1 /), expect.stringMatching(/ sleep 101$/), expect.stringMatching(/ sleep 102$/)]));

    const watch = await Observation.start(client, sandboxId, ['hostView']);
    const listed = () => watch.hostView?.processes.map((p) => `${p.pidInside} ${p.command}`).sort();
    const view = await pollUntil(
      'a host view matching ps',
      () => JSON.stringify(listed()) === JSON.stringify(inside) && watch.hostView,
      30_000,
      () => `ps inside: ${JSON.stringify(inside)}; host view: ${JSON.stringify(listed())}`,
    );

    const sandbox = sandboxById(lab.server, sandboxId)!;
    expect(view.initHostPid).toBe(sandbox.initPid());
    for (const process of view.processes) {
      // The host's own /proc agrees: NSpid is "host pid, pid inside".
      const status = readFileSync(`/proc/${process.hostPid}/status`, 'utf8');
      expect(/^NSpid:\s*(.*)$/m.exec(status)?.[1].split(/\s+/).map(Number)).toEqual([process.hostPid, process.pidInside]);
      expect(process.hostUid).toBe(sandbox.hostUid);
      expect(process.uidInside).toBe(0);
      expect(process.cgroupPath.startsWith(sandbox.cgroup.cgroupsPath)).toBe(true);
    }
    // lab-server runs in this test process: it is on the host, so it must not be listed.
    expect(view.processes.map((p) => p.hostPid)).not.toContain(process.pid);
    expect(view.namespaces.find((n) => n.kind === 'pid')).toMatchObject({ relation: 'own' });
    expect(view.namespaces.find((n) => n.kind === 'time')).toMatchObject({ relation: 'shared' });
    await watch.stop();
    term.dispose();
    await client.request('sandbox:close', { sandboxId });
  });
});

describe('the namespace map', () => {
  it('shows a new UTS namespace around `unshare -u sleep 100 &`', async () => {
    const watch = await Observation.start(client, sandboxId, ['nsMap']);
    const pid = Number(/pid=(\d+)/.exec(await term.exec('unshare -u sleep 100 & echo "pid=$!"'))?.[1]);
    const uts = await watch.until('a nested UTS namespace holding the sleep', () => {
      const map = watch.nsMap;
      const sleeper = map?.processes.find((p) => p.pidInside === pid);
      return sleeper && map!.namespaces.find((n) => n.kind === 'uts' && n.origin === 'nested' && n.processes.includes(sleeper.hostPid));
    });
    expect(uts.processes).toHaveLength(1);
    // The shell stays in the sandbox's own UTS namespace.
    const shell = watch.nsMap!.processes.find((p) => p.pidInside === 1)!;
    expect(watch.nsMap!.namespaces.find((n) => n.kind === 'uts' && n.processes.includes(shell.hostPid))?.origin).toBe('sandbox');
    await watch.stop();
  });

  it('shows the network namespace of `ip netns add`, which has no process, and drops it after `ip netns del`', async () => {
    const watch = await Observation.start(client, sandboxId, ['nsMap']);
    await term.exec('ip netns add blue');
    // `ip` itself sits in the new namespace for a moment; once it is gone, only the mount holds it.
    const blue = await watch.until('a net namespace with no process, mounted at /run/netns/blue', () =>
      watch.nsMap?.namespaces.find((n) => n.kind === 'net' && n.mountedAt.includes('/run/netns/blue') && n.processes.length === 0),
    );
    expect(blue.origin).toBe('nested');
    await term.exec('ip netns del blue');
    await watch.until('the namespace gone', () => watch.nsMap && !watch.nsMap.namespaces.some((n) => n.inode === blue.inode));
    await watch.stop();
  });
});

describe('who may watch', () => {
  it('refuses another session the sandbox as if it did not exist', async () => {
    const stranger = await lab.connect();
    const refusal = await stranger.request('observe:subscribe', { sandboxId, views: ['meters', 'hostView', 'nsMap'] }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LabRequestError);
    expect((refusal as LabRequestError).code).toBe('NOT_FOUND');
  });

  it("shows a learner only their own sandbox's processes, never another learner's", async () => {
    const other = await lab.connect();
    const otherSandbox = await other.request('sandbox:open', { key: 'observe' });
    const mine = await Observation.start(client, sandboxId, ['hostView']);
    const theirs = await Observation.start(other, otherSandbox.sandboxId, ['hostView']);
    const myPids = (await mine.until('my host view', () => mine.hostView)).processes.map((p) => p.hostPid);
    const theirPids = (await theirs.until('their host view', () => theirs.hostView)).processes.map((p) => p.hostPid);
    expect(theirPids.length).toBeGreaterThan(0);
    expect(theirPids.filter((pid) => myPids.includes(pid))).toEqual([]);
    await mine.stop();
    await theirs.stop();
    await other.request('sandbox:close', { sandboxId: otherSandbox.sandboxId });
  });

  it('rejects a subscription without views', async () => {
    const refusal = await client.request('observe:subscribe', { sandboxId, views: [] }).catch((error: unknown) => error);
    expect((refusal as LabRequestError).code).toBe('BAD_REQUEST');
  });

  it('stops reading once the last watcher unsubscribes or disconnects', async () => {
    const { observatory } = lab.server;
    const watch = await Observation.start(client, sandboxId, ['meters']);
    expect(observatory.activeObservers).toBe(1);
    await watch.stop();
    expect(observatory.activeObservers).toBe(0);

    const leaving = await lab.connect({ token: client.session!.token });
    await leaving.request('observe:subscribe', { sandboxId, views: ['meters', 'nsMap'] });
    expect(observatory.activeObservers).toBe(1);
    leaving.close();
    await pollUntil('the observer to stop', () => observatory.activeObservers === 0);
  });
});
