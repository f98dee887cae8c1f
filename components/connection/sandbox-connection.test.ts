import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LabRequestError, type LabClient } from '../../lib/lab-client';
import { FakeLabClient } from '../../lib/fake-lab-client';
import type { SandboxInfo } from '../../protocol/common';
import type { EarlyTerminal } from '../terminal/early-terminal';
import { RETRY_DELAYS_MS } from './lab-connection';
import { HOME_LOST_MESSAGE, SandboxConnection, type TerminalSlot } from './sandbox-connection';

/**
 * A stand-in for lab-server behind LabClient: it keeps sandboxes per session token, answers the
 * requests the connection makes, and can drop the connection or end a sandbox like the real one.
 */
class FakeLab {
  sandboxes: SandboxInfo[] = [];
  requests: Array<[string, unknown]> = [];
  clients: FakeLabClient[] = [];
  refuse: LabRequestError | undefined;
  /** Refuses `sandbox:open` on a connection that was accepted (e.g. the lab is closed). */
  refuseOpen: LabRequestError | undefined;
  /** While set, `sandbox:open` waits for it (the learner is in line). */
  holdOpen: Promise<void> | undefined;
  /** While set, `terminal:open` waits for it (sent by the connection itself, before terminal 1 registered). */
  holdTerminalOpen: Promise<void> | undefined;
  private next = 0;

  newSandbox(key: string): SandboxInfo {
    const n = ++this.next;
    const sandbox: SandboxInfo = {
      sandboxId: `sbx-0000000${n}`,
      key,
      hostname: `sbx-0000000${n}`,
      createdAt: Date.now(),
      limits: { memoryBytes: 1, pids: 1, cpus: 1 },
      terminals: [{ terminalId: `term-run0000${n}`, kind: 'run', cols: 80, rows: 24, exited: false }],
    };
    this.sandboxes.push(sandbox);
    return sandbox;
  }

  /** Several lab nodes: the node each connection named, and the one the next `session` reports. */
  readonly nodesAsked: Array<string | undefined> = [];
  node: string | undefined;
  homeLost = false;

  /** How long each connection attempt was given to get its session. */
  readonly connectTimeouts: Array<number | undefined> = [];

  connect = async (_url: string, options: { token?: string; node?: string; timeoutMs?: number }): Promise<LabClient> => {
    this.connectTimeouts.push(options.timeoutMs);
    if (this.refuse) throw this.refuse;
    const client = new FakeLabClient({ token: options.token, answer: (event, payload) => this.answer(event, payload) });
    this.nodesAsked.push(options.node);
    if (this.node) Object.assign(client.session, { node: this.node, ...(this.homeLost ? { homeLost: true } : {}) });
    this.clients.push(client);
    return client.client;
  };

  get latest(): FakeLabClient {
    return this.clients.at(-1)!;
  }

  private async answer(event: string, payload: Record<string, unknown>): Promise<unknown> {
    this.requests.push([event, payload]);
    switch (event) {
      case 'sandbox:open':
        if (this.refuseOpen) throw this.refuseOpen;
        await this.holdOpen;
        return this.sandboxes.find((s) => s.key === payload.key) ?? this.newSandbox(payload.key as string);
      case 'sandbox:list':
        return this.sandboxes;
      case 'sandbox:close': {
        const index = this.sandboxes.findIndex((s) => s.sandboxId === payload.sandboxId);
        if (index === -1) throw new LabRequestError('NOT_FOUND', 'No such sandbox.');
        this.sandboxes.splice(index, 1);
        return {};
      }
      case 'terminal:open':
        await this.holdTerminalOpen;
        return { terminalId: payload.terminalId ?? 'term-exec-new', kind: 'run', cols: payload.cols, rows: payload.rows, exited: false, snapshot: '' };
      case 'progress:check':
        return { exitCode: 0, stdout: 'ok', stderr: '', truncated: false, timedOut: false, durationMs: 5, passed: true, passedAt: 1000 };
      default:
        throw new Error(`unexpected request ${event}`);
    }
  }
}

/** A terminal on the page: records what the connection asks of it. */
class FakeSlot implements TerminalSlot {
  attaches: Array<string | undefined> = [];
  /** The `terminal:open` the connection sent before this slot registered, per attach. */
  earlies: Array<EarlyTerminal | undefined> = [];
  detaches: string[] = [];
  typed: string[] = [];
  live = false;
  private counter = 0;

  constructor(readonly slot: number) {}

  async attach(_client: LabClient, _sandboxId: string, terminalId: string | undefined, early?: EarlyTerminal) {
    this.attaches.push(terminalId);
    this.earlies.push(early);
    this.live = true;
    return terminalId ?? `term-exec000${this.slot}${++this.counter}`;
  }
  detach(reason: 'disconnected' | 'ended') {
    this.live = false;
    this.detaches.push(reason);
  }
  type(data: string) {
    if (!this.live) return false;
    this.typed.push(data);
    return true;
  }
  focus() {}
}

/** A terminal whose `terminal:open` is answered (or refused) when the test says. */
class HeldSlot extends FakeSlot {
  private pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  override async attach(_client: LabClient, _sandboxId: string, terminalId: string | undefined, early?: EarlyTerminal) {
    this.attaches.push(terminalId);
    this.earlies.push(early);
    await new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
    this.live = true;
    return terminalId ?? `term-exec000${this.slot}`;
  }
  answer() {
    this.pending.shift()?.resolve();
  }
  fail(error: Error) {
    this.pending.shift()?.reject(error);
  }
}

function setup(storedToken?: string) {
  const lab = new FakeLab();
  let token = storedToken;
  const tokens = { get: () => token, set: (value: string) => (token = value) };
  const connection = new SandboxConnection({ key: 'uts', labUrl: async () => 'http://lab.test:3001', tokens, connect: lab.connect });
  return { lab, connection, token: () => token };
}

/** Lets pending promises (and timers, with fake timers) run. */
async function settle(ms = 0) {
  for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(ms / 10);
}

describe('SandboxConnection', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('opens the lesson’s sandbox, keeps the session token, and attaches each terminal', async () => {
    const { lab, connection, token } = setup();
    const first = new FakeSlot(0);
    const second = new FakeSlot(1);
    connection.register(first);
    connection.register(second);
    expect(connection.state.get().state).toBe('connecting');

    connection.start();
    await settle();

    expect(connection.state.get()).toMatchObject({ state: 'live', sandbox: { hostname: 'sbx-00000001' } });
    expect(lab.requests[0]).toEqual(['sandbox:open', { key: 'uts' }]);
    expect(token()).toBe(lab.latest.token);
    // The first terminal is the sandbox's run shell; the second starts a new shell.
    expect(first.attaches).toEqual(['term-run00001']);
    expect(second.attaches).toEqual([undefined]);
  });

  it('opens terminal 1 as soon as the sandbox answers, before its code loads: terminal 2 waits for that answer, the observe panel for terminal 1 on screen', async () => {
    const { lab, connection } = setup();
    let answerTerminal!: () => void;
    lab.holdTerminalOpen = new Promise((resolve) => (answerTerminal = resolve));
    const first = new FakeSlot(0);
    const second = new HeldSlot(1);
    // Terminal 2's code was ready first; terminal 1's (xterm.js) is still loading.
    connection.register(second);
    connection.start();
    await settle();
    expect(connection.state.get()).toMatchObject({ state: 'live', firstTerminalSettled: false });
    // The connection opened terminal 1 itself, at a size xterm corrects once it has measured.
    expect(lab.requests.filter(([event]) => event === 'terminal:open')).toEqual([
      ['terminal:open', { sandboxId: 'sbx-00000001', terminalId: 'term-run00001', cols: 80, rows: 24 }],
    ]);
    expect(second.attaches).toEqual([]);

    answerTerminal();
    await settle();
    expect(second.attaches).toEqual([undefined]);
    // The observe panel waits until terminal 1 is on screen.
    expect(connection.state.get().firstTerminalSettled).toBe(false);

    // Terminal 1 registers late and takes that open over (no second `terminal:open`).
    connection.register(first);
    await settle();
    expect(connection.state.get().firstTerminalSettled).toBe(true);
    expect(first.attaches).toEqual(['term-run00001']);
    expect(first.earlies[0]).toBeDefined();
    expect(await first.earlies[0]!.opened).toMatchObject({ terminalId: 'term-run00001' });
    expect(lab.requests.filter(([event]) => event === 'terminal:open')).toHaveLength(1);
  });

  it('attaches terminal 1 first when its code was there before the sandbox: terminal 2 waits for its answer', async () => {
    const { lab, connection } = setup();
    const first = new HeldSlot(0);
    const second = new HeldSlot(1);
    connection.register(second);
    connection.register(first);
    connection.start();
    await settle();
    expect(first.attaches).toEqual(['term-run00001']);
    expect(first.earlies).toEqual([undefined]);
    expect(second.attaches).toEqual([]);
    expect(lab.requests.filter(([event]) => event === 'terminal:open')).toEqual([]);

    first.answer();
    await settle();
    expect(second.attaches).toEqual([undefined]);
    expect(connection.state.get().firstTerminalSettled).toBe(true);
  });

  it('drops the early open of terminal 1 when the socket drops, and opens it again on the new socket', async () => {
    const { lab, connection } = setup();
    connection.start();
    await settle();
    const opens = () => lab.requests.filter(([event]) => event === 'terminal:open').length;
    expect(opens()).toBe(1);
    lab.latest.drop();
    await settle(RETRY_DELAYS_MS[0] + 100);
    expect(connection.state.get().state).toBe('live');
    expect(opens()).toBe(2);
    const first = new FakeSlot(0);
    connection.register(first);
    await settle();
    // The one it takes over is the new socket's.
    expect(first.earlies[0]?.client).toBe(lab.latest.client);
  });

  it('a failed terminal 1 still lets terminal 2 attach', async () => {
    const { connection } = setup();
    const first = new HeldSlot(0);
    const second = new HeldSlot(1);
    connection.register(first);
    connection.register(second);
    connection.start();
    await settle();
    first.fail(new LabRequestError('INTERNAL', 'The shell could not start.'));
    await settle();
    expect(second.attaches).toEqual([undefined]);
    expect(connection.state.get().firstTerminalSettled).toBe(true);
  });

  it('reconnects after a network drop to the same sandbox and re-attaches the same terminals', async () => {
    const { lab, connection } = setup('stored-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    const first = new FakeSlot(0);
    const second = new FakeSlot(1);
    connection.register(first);
    connection.register(second);
    connection.start();
    await settle();
    // The sandbox now lists the second shell, as lab-server would.
    lab.sandboxes[0].terminals.push({ terminalId: 'term-exec0011', kind: 'exec', cols: 80, rows: 24, exited: false });

    lab.latest.drop();
    expect(connection.state.get().state).toBe('reconnecting');
    expect(first.detaches.at(-1)).toBe('disconnected');
    expect(first.live).toBe(false);

    await settle(RETRY_DELAYS_MS[0]);
    expect(connection.state.get()).toMatchObject({ state: 'live', sandbox: { sandboxId: 'sbx-00000001' }, liveTerminals: 2 });
    expect(lab.clients).toHaveLength(2);
    expect(lab.clients[0].closed).toBe(true);
    expect(lab.clients[1].token).toBe('stored-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    expect(lab.requests.map(([event]) => event)).toEqual(['sandbox:open', 'sandbox:list']);
    expect(first.attaches).toEqual(['term-run00001', 'term-run00001']);
    expect(second.attaches).toEqual([undefined, 'term-exec0011']);
  });

  it('says the sandbox ended when it is gone after a reconnect, and does not make a new one by itself', async () => {
    const { lab, connection } = setup();
    connection.register(new FakeSlot(0));
    connection.start();
    await settle();
    lab.sandboxes = [];
    lab.latest.drop();
    await settle(RETRY_DELAYS_MS[0]);
    expect(connection.state.get().state).toBe('ended');
    expect(connection.state.get().message).toMatch(/ended while the connection was down/);
    expect(lab.requests.filter(([event]) => event === 'sandbox:open')).toHaveLength(1);
  });

  it('goes back to the node holding the sandbox, and says so when that lab machine stopped', async () => {
    const { lab, connection } = setup();
    lab.node = 'lab2';
    connection.register(new FakeSlot(0));
    connection.start();
    await settle();
    // lab2 died: its sandbox is gone, and lab3 took the session over.
    lab.sandboxes = [];
    lab.node = 'lab3';
    lab.homeLost = true;
    lab.latest.drop();
    await settle(RETRY_DELAYS_MS[0]);
    expect(lab.nodesAsked).toEqual([undefined, 'lab2']);
    expect(connection.state.get()).toMatchObject({ state: 'ended', message: HOME_LOST_MESSAGE });
    expect(HOME_LOST_MESSAGE).toBe('The lab machine running your sandbox stopped. Your progress is kept: start a new sandbox.');
    expect(lab.requests.filter(([event]) => event === 'sandbox:open')).toHaveLength(1);
  });

  it('ends on sandbox:closed, and Restart brings a fresh sandbox with fresh shells', async () => {
    const { lab, connection } = setup();
    const first = new FakeSlot(0);
    const second = new FakeSlot(1);
    connection.register(first);
    connection.register(second);
    connection.start();
    await settle();

    lab.sandboxes = [];
    lab.latest.emit('sandbox:closed', { sandboxId: 'sbx-00000001', reason: 'idle', message: 'Closed after 30 minutes without activity.' });
    expect(connection.state.get()).toMatchObject({ state: 'ended', message: 'Closed after 30 minutes without activity.' });
    expect(first.detaches.at(-1)).toBe('ended');
    expect(connection.run('ls')).toBe(false);

    connection.restart();
    expect(connection.state.get()).toMatchObject({ state: 'connecting', message: 'Starting a fresh sandbox…' });
    await settle();
    expect(connection.state.get()).toMatchObject({ state: 'live', sandbox: { hostname: 'sbx-00000002' } });
    expect(lab.requests.slice(-2)).toEqual([
      ['sandbox:close', { sandboxId: 'sbx-00000001' }],
      ['sandbox:open', { key: 'uts' }],
    ]);
    expect(first.attaches.at(-1)).toBe('term-run00002');
    expect(second.attaches.at(-1)).toBeUndefined();
  });

  it('stops and explains when the lab refuses this page, without retrying', async () => {
    const { lab, connection } = setup();
    lab.refuse = new LabRequestError('ORIGIN_REFUSED', 'Connections from http://evil.test are not allowed.');
    connection.start();
    await settle(30_000);
    expect(connection.state.get()).toMatchObject({ state: 'error', message: 'Connections from http://evil.test are not allowed.' });
    expect(connection.state.get().retryAt).toBeUndefined();
  });

  it('keeps trying while the lab server is down, and goes live once it is up', async () => {
    const { lab, connection } = setup();
    lab.refuse = new LabRequestError('DISCONNECTED', 'xhr poll error');
    connection.start();
    await settle();
    expect(connection.state.get().state).toBe('error');
    expect(connection.state.get().message).toMatch(/Cannot reach the lab server at http:\/\/lab\.test:3001/);
    expect(connection.state.get().retryAt).toBeGreaterThan(Date.now());

    lab.refuse = undefined;
    await settle(RETRY_DELAYS_MS[0] + RETRY_DELAYS_MS[1]);
    expect(connection.state.get().state).toBe('live');
  });

  it('a lab server slow to answer is given a second try before the page calls it an error', async () => {
    const { lab, connection } = setup();
    lab.refuse = new LabRequestError('TIMEOUT', 'No answer from the lab server at http://lab.test:3001.');
    connection.start();
    await settle();
    expect(connection.state.get()).toMatchObject({ state: 'connecting', message: 'The lab server at http://lab.test:3001 is slow to answer; trying again…' });
    await settle(RETRY_DELAYS_MS[0]);
    expect(connection.state.get().state).toBe('error'); // twice without an answer: say so plainly
    expect(connection.state.get().message).toMatch(/Cannot reach the lab server at http:\/\/lab\.test:3001/);

    lab.refuse = undefined;
    await settle(RETRY_DELAYS_MS[1]);
    expect(connection.state.get().state).toBe('live');
  });

  it('gives each new attempt longer to get its session, so a lab that answers slowly gets in at last', async () => {
    const { lab, connection } = setup();
    lab.refuse = new LabRequestError('TIMEOUT', 'No answer from the lab server at http://lab.test:3001.');
    connection.start();
    await settle();
    for (const delay of RETRY_DELAYS_MS) await settle(delay);
    expect(lab.connectTimeouts).toEqual([8000, 16_000, 32_000, 64_000, 64_000, 64_000]);
    lab.refuse = undefined;
    await settle(RETRY_DELAYS_MS.at(-1)!);
    expect(connection.state.get().state).toBe('live');
    // The line worked: after a later drop (its first failure) the waits start over.
    lab.latest.drop();
    await settle(RETRY_DELAYS_MS[0]);
    expect(lab.connectTimeouts.at(-1)).toBe(16_000);
  });

  it('a slow first answer that then comes goes live without ever showing an error', async () => {
    const { lab, connection } = setup();
    const states: string[] = [];
    connection.state.subscribe(() => states.push(connection.state.get().state));
    lab.refuse = new LabRequestError('TIMEOUT', 'No answer from the lab server at http://lab.test:3001.');
    connection.start();
    await settle();
    lab.refuse = undefined;
    await settle(RETRY_DELAYS_MS[0]);
    expect(connection.state.get().state).toBe('live');
    expect(states).not.toContain('error');
  });

  it('Run types each line with Enter into the block’s terminal, and marks it active', async () => {
    const { connection } = setup();
    const first = new FakeSlot(0);
    const second = new FakeSlot(1);
    connection.register(first);
    connection.register(second);
    connection.start();
    await settle();

    expect(connection.run('hostname\nuname -n\n', 1)).toBe(true);
    expect(second.typed).toEqual(['hostname\runame -n\r']);
    expect(connection.activeSlot.get()).toBe(1);
    // Without a target, Run uses the terminal the learner used last.
    connection.run('ls');
    expect(second.typed.at(-1)).toBe('ls\r');
  });

  it('runs checks only while live, in the current sandbox', async () => {
    const { lab, connection } = setup();
    await expect(connection.checkStep('uts', 'read')).rejects.toThrow(/not connected/);
    connection.start();
    await settle();
    await expect(connection.checkStep('uts', 'read', 5000)).resolves.toMatchObject({ exitCode: 0, passed: true });
    // The lesson and step only: lab-server finds the command itself.
    expect(lab.requests.at(-1)).toEqual(['progress:check', { sandboxId: 'sbx-00000001', lessonSlug: 'uts', stepId: 'read' }]);
  });

  it('refuses for good, with the code, when the instructor link is wrong', async () => {
    const { lab, connection } = setup();
    lab.refuse = new LabRequestError('FORBIDDEN', 'That instructor link is not valid.');
    connection.start();
    await settle(30_000);
    expect(connection.state.get()).toMatchObject({ state: 'error', errorCode: 'FORBIDDEN', message: 'That instructor link is not valid.' });
    expect(lab.clients).toHaveLength(0);
  });

  it('says the lab is closed with its code, so the page can word it, and a retry works once it is open', async () => {
    const { lab, connection } = setup();
    lab.refuseOpen = new LabRequestError('LAB_CLOSED', 'The lab is closed to new sandboxes right now. Ask the instructor to open it.');
    connection.start();
    await settle(30_000);
    expect(connection.state.get()).toMatchObject({ state: 'error', errorCode: 'LAB_CLOSED' });
    lab.refuseOpen = undefined;
    connection.retry();
    await settle();
    expect(connection.state.get().state).toBe('live');
    expect(connection.state.get().errorCode).toBeUndefined();
  });

  it('while the sandbox waits in line, says how many are ahead; then goes live', async () => {
    const { lab, connection } = setup();
    let letThrough!: () => void;
    lab.holdOpen = new Promise((resolve) => (letThrough = resolve));
    connection.start();
    await settle();
    lab.latest.emit('sandbox:queue', { key: 'uts', ahead: 3 });
    expect(connection.state.get()).toMatchObject({ state: 'connecting', message: 'Starting your sandbox: 3 ahead of you.' });
    // Another lesson's line is not this terminal's.
    lab.latest.emit('sandbox:queue', { key: 'pid', ahead: 9 });
    lab.latest.emit('sandbox:queue', { key: 'uts', ahead: 0 });
    expect(connection.state.get().message).toBe('Starting your sandbox: you are next.');
    letThrough();
    await settle();
    expect(connection.state.get()).toMatchObject({ state: 'live', message: '' });
  });

  it('hands every client it adopts to onClient listeners, and runs their cleanup when it drops the client', async () => {
    const { lab, connection } = setup();
    const seen: unknown[] = [];
    const cleaned: unknown[] = [];
    connection.onClient((client) => {
      seen.push(client);
      return () => cleaned.push(client);
    });
    connection.start();
    await settle();
    expect(seen).toEqual([lab.clients[0]]);

    lab.latest.drop();
    await settle(RETRY_DELAYS_MS[0]);
    expect(seen).toEqual([lab.clients[0], lab.clients[1]]);
    expect(cleaned).toEqual([lab.clients[0]]);

    // A listener added later gets the current client at once.
    const late: unknown[] = [];
    connection.onClient((client) => void late.push(client));
    expect(late).toEqual([lab.clients[1]]);
  });

  it('after dispose, nothing it started runs on', async () => {
    const { lab, connection } = setup();
    const slot = new FakeSlot(0);
    connection.register(slot);
    connection.start();
    connection.dispose();
    await settle(10_000);
    expect(slot.attaches).toEqual([]);
    expect(lab.clients.every((client) => client.closed)).toBe(true);
  });
});
