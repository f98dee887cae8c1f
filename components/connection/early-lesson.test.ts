/**
 * The connection a lesson starts before its page hydrates (early-lesson.ts), against a real
 * socket.io server that speaks the lab's events: what lab-server says right after the handshake
 * must reach the classroom the page starts later, and the page must own the connection as if it
 * had opened it (reconnects included).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DisplayNameStore } from '../classroom/display-name-store';
import { LearnerClassroom } from '../classroom/learner-classroom';
import { ProgressStore } from '../progress/progress-store';
import { KEPT_EVENTS_MAX, LabClient, LabRequestError } from '../../lib/lab-client';
import { cancelEarlyLesson, claimEarlyLesson, lessonPageConnection, releaseEarlyLesson, resetEarlyLesson, startEarlyLesson } from './early-lesson';
import { UNCLAIMED_CLOSE_MS } from './unclaimed';
import { noLaterHeadStart, takeHeadStart, type LessonHeadStart } from './head-start';
import { startHeadStart } from './head-start-script';
import { LAB_CONFIG_COOKIE, labConfigCookieValue } from './lab-config';
import type { TokenStore } from './lab-connection';
import { SandboxConnection, type ConnectionStatus } from './sandbox-connection';
import { FLOW_CONTROL } from '../../protocol/flow-control';
import { EARLY_TERMINAL_SIZE, HELD_OUTPUT_MAX_CHARS, type EarlyTerminal } from '../terminal/early-terminal';
import type { OutputStream } from '../terminal/output-stream';

const SANDBOX = {
  sandboxId: 'sbx-0123456789ab',
  key: 'pid',
  hostname: 'pid-lab',
  createdAt: 0,
  limits: { memoryBytes: 1, pids: 1, cpus: 1, diskBytes: 1 },
  // Terminal 1: the sandbox's init shell, which the page attaches to.
  terminals: [{ terminalId: 'term-run00000001', kind: 'run', cols: 80, rows: 24, exited: false }],
};

/** A stand-in lab-server: a session on every connection, then whatever `greet` says right away. */
class TinyLab {
  readonly io: Server;
  readonly sockets: Socket[] = [];
  /** The events every connection gets right after its session, as lab-server sends a live broadcast. */
  greet: Array<[string, unknown]> = [];
  /** A lab that accepts the socket and never answers. */
  silent = false;
  /** Sent right after answering `terminal:open`, as a shell's first output. */
  terminalOutput: string[] = [];
  /** While set, `sandbox:open` is answered only once it settles. */
  holdOpen: Promise<void> | undefined;
  /** Refuses `terminal:open` with this sentence. */
  refuseTerminal: string | undefined;
  /** Every `terminal:open` asked, and the chars acknowledged, over all sockets. */
  readonly terminalOpens: Array<Record<string, unknown>> = [];
  acked = 0;
  private readonly http = createServer();

  constructor() {
    this.io = new Server(this.http);
    this.io.on('connection', (socket) => {
      this.sockets.push(socket);
      if (this.silent) return;
      socket.emit('session', { token: 'tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', sessionId: 'ses-0123456789ab', displayName: 'swift-otter', protocolVersion: 1, isNew: true });
      for (const [event, payload] of this.greet) socket.emit(event, payload);
      socket.on('sandbox:open', (_payload, ack) => void Promise.resolve(this.holdOpen).then(() => ack({ ok: true, value: SANDBOX })));
      socket.on('sandbox:list', (_payload, ack) => ack({ ok: true, value: [SANDBOX] }));
      socket.on('terminal:ack', ({ chars }: { chars: number }) => (this.acked += chars));
      socket.on('terminal:open', (payload: { terminalId?: string; cols: number; rows: number }, ack) => {
        const { terminalId, cols, rows } = payload;
        this.terminalOpens.push(payload);
        if (this.refuseTerminal) return ack({ ok: false, error: { code: 'INTERNAL', message: this.refuseTerminal } });
        const id = terminalId ?? 'term-exec00001';
        ack({ ok: true, value: { terminalId: id, kind: 'run', cols, rows, exited: false, snapshot: '' } });
        for (const data of this.terminalOutput) socket.emit('terminal:output', { terminalId: id, data });
      });
      socket.on('progress:get', (_payload, ack) => ack({ ok: true, value: { displayName: 'swift-otter', passes: [] } }));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.io.close(() => resolve()));
  }
}

function memoryStorage() {
  const values = new Map<string, string>();
  return { getItem: (key: string) => values.get(key) ?? null, setItem: (key: string, value: string) => void values.set(key, value), removeItem: (key: string) => void values.delete(key) };
}

function memoryTokens(): TokenStore {
  let token: string | undefined;
  return { get: () => token, set: (value) => void (token = value) };
}

/** Resolves once the connection's status satisfies `test`. */
function statusOf(connection: SandboxConnection, test: (status: ConnectionStatus) => boolean): Promise<ConnectionStatus> {
  return new Promise((resolve) => {
    const check = () => {
      const status = connection.state.get();
      if (!test(status)) return;
      off();
      resolve(status);
    };
    const off = connection.state.subscribe(check);
    check();
  });
}

const live = (connection: SandboxConnection) => statusOf(connection, (status) => status.state === 'live');

/** What the page does when it hydrates (LessonWorkspace). */
function startClassroom(connection: SandboxConnection) {
  const progress = new ProgressStore(memoryStorage());
  const classroom = new LearnerClassroom(connection, { slug: 'pid', stepIds: ['ps'], progress, names: new DisplayNameStore(memoryStorage()) });
  classroom.start();
  connection.stopKeepingEvents();
  return { classroom, progress };
}

/** How long vi.waitFor may wait for the socket: a deadline for a busy machine, not a speed test. */
const UNTIL = { timeout: 30_000, interval: 20 };

let lab: TinyLab;
let url: string;
const owned: Array<{ dispose(): void }> = [];

beforeEach(async () => {
  lab = new TinyLab();
  url = await lab.listen();
});
afterEach(async () => {
  for (const thing of owned.splice(0)) thing.dispose();
  resetEarlyLesson();
  vi.useRealTimers();
  await lab.close();
});

function early(slug = 'pid'): void {
  startEarlyLesson(slug, { labUrl: async () => url, tokens: memoryTokens() });
}

/**
 * An early start, then the page: it claims the connection and, once the sandbox is open (so every
 * greeting has arrived), starts its classroom.
 */
async function pageOnEarlyConnection() {
  early();
  const connection = claimEarlyLesson('pid')!;
  owned.push(connection);
  await live(connection);
  const { classroom, progress } = startClassroom(connection);
  owned.push(classroom);
  return { connection, classroom, progress };
}

describe('a lesson connection started before hydration', () => {
  it('hands the classroom, which starts listening later, what lab-server said right after the handshake', async () => {
    lab.greet = [
      ['class:broadcast-status', { active: true }],
      ['class:spotlighted', { active: true }],
      ['progress:updated', { displayName: 'swift-otter', passes: [{ lessonSlug: 'pid', stepId: 'ps', passedAt: 1000 }] }],
    ];
    const { classroom, progress } = await pageOnEarlyConnection();
    expect(classroom.state.get()).toMatchObject({ broadcastLive: true, spotlighted: true });
    expect(progress.get().lessons).toEqual({ pid: { done: ['ps'], updatedAt: 1000 } });
  });

  it('opens terminal 1 before the page has its terminal, holding its output, which does not push the greeting out of the record', async () => {
    lab.greet = [['class:broadcast-status', { active: true }]];
    // More output events than the client keeps of other events.
    lab.terminalOutput = Array.from({ length: KEPT_EVENTS_MAX + 20 }, (_, n) => `line ${n}\r\n`);
    early();
    const connection = claimEarlyLesson('pid')!;
    owned.push(connection);
    await live(connection);
    // Terminal 1's open went out when the sandbox answered; a later request's answer comes
    // after its answer and all of the shell's output, so that is in before the page listens.
    await connection.labClient!.request('sandbox:list', {});
    const { classroom } = startClassroom(connection);
    owned.push(classroom);
    expect(classroom.state.get().broadcastLive).toBe(true);

    // Terminal 1 registers (xterm.js loaded): it is handed that open and gets every line once, in order.
    const screen: string[] = [];
    let adopted: Promise<string> | undefined;
    connection.register({
      slot: 0,
      attach: (_client, _sandboxId, _terminalId, held) => {
        adopted = held!.opened.then((opened) => {
          held!.adopt({ write: (data, written) => (screen.push(data), written?.()) }, () => undefined);
          return opened.terminalId;
        });
        return adopted;
      },
      detach: () => undefined,
      type: () => false,
      focus: () => undefined,
    });
    await vi.waitFor(() => expect(screen.join('')).toBe(lab.terminalOutput.join('')), UNTIL);
  });

  it('(the same late classroom on a connection that does not keep events misses them: why keeping is needed)', async () => {
    lab.greet = [['class:broadcast-status', { active: true }]];
    const connection = new SandboxConnection({ key: 'pid', labUrl: async () => url, tokens: memoryTokens() });
    owned.push(connection);
    connection.start();
    await live(connection);
    const { classroom } = startClassroom(connection);
    owned.push(classroom);
    expect(classroom.state.get().broadcastLive).toBe(false);
  });

  it('gives each event once: after the page listens, events go to it as they come and nothing is replayed', async () => {
    lab.greet = [['class:broadcast-status', { active: true }]];
    const { connection, classroom } = await pageOnEarlyConnection();
    const seen: boolean[] = [];
    connection.labClient!.on('class:broadcast-status', ({ active }) => seen.push(active));
    expect(seen).toEqual([]);

    const stopped = new Promise<void>((resolve) => {
      const off = classroom.state.subscribe(() => {
        if (classroom.state.get().broadcastLive) return;
        off();
        resolve();
      });
    });
    lab.sockets[0].emit('class:broadcast-status', { active: false });
    await stopped;
    expect(seen).toEqual([false]);
  });

  it('is the page’s own: one socket for the page, and a dropped socket reconnects to the same sandbox', async () => {
    const { connection, classroom } = await pageOnEarlyConnection();
    expect(lab.sockets).toHaveLength(1);

    lab.greet = [['class:broadcast-status', { active: true }]];
    lab.sockets[0].disconnect(true);
    await statusOf(connection, (status) => status.state === 'reconnecting');
    const back = await live(connection);
    expect(back.sandbox?.sandboxId).toBe(SANDBOX.sandboxId);
    expect(lab.sockets).toHaveLength(2);
    // The classroom listens on the new socket from its start.
    expect(classroom.state.get().broadcastLive).toBe(true);
  });

  it('is not used for another lesson, and no early start follows the page’s own', async () => {
    early('pid');
    expect(claimEarlyLesson('uts')).toBeUndefined();
    early('uts'); // too late: the page has opened its own connection
    expect(claimEarlyLesson('uts')).toBeUndefined();
    expect(claimEarlyLesson('pid')).toBeUndefined();
    // The early connection was closed (the server may or may not have seen it connect). The server
    // hears of the close when its event loop gets to it, later on a busy box: wait for it.
    await vi.waitFor(() => expect(lab.sockets.filter((socket) => socket.connected)).toHaveLength(0), { timeout: 10_000, interval: 20 });
  });

  it('starts again for the next lesson once the page that claimed is closed (a click on the course map), and that page gets it', async () => {
    const { connection } = await pageOnEarlyConnection();
    // The learner goes back to the course map: the page disposes its connection and releases.
    connection.dispose();
    releaseEarlyLesson();
    early('uts');
    const next = claimEarlyLesson('uts');
    expect(next).toBeDefined();
    owned.push(next!);
    expect((await live(next!)).sandbox?.sandboxId).toBe(SANDBOX.sandboxId);
    // Claimed: no further early start until that page closes too.
    early('pid');
    expect(claimEarlyLesson('pid')).toBeUndefined();
  });

  it('started on a press (the course map), connects at once and asks for the sandbox only when its click comes', async () => {
    const asked: string[] = [];
    lab.io.on('connection', (socket) => socket.onAny((event: string) => asked.push(event)));
    let clicked!: () => void;
    startEarlyLesson('pid', { labUrl: async () => url, tokens: memoryTokens(), openWhen: new Promise<void>((resolve) => (clicked = resolve)) });
    const connection = claimEarlyLesson('pid')!;
    owned.push(connection);
    await vi.waitFor(() => expect(connection.labClient?.session).toBeDefined(), UNTIL);
    expect(asked).not.toContain('sandbox:open');
    expect(connection.state.get().state).toBe('connecting');
    clicked();
    expect((await live(connection)).sandbox?.sandboxId).toBe(SANDBOX.sandboxId);
    expect(asked.filter((event) => event === 'sandbox:open')).toHaveLength(1);
  });

  it('a press that never became a click closes its connection, having asked for no sandbox, and the next press starts afresh', async () => {
    const asked: string[] = [];
    lab.io.on('connection', (socket) => socket.onAny((event: string) => asked.push(event)));
    startEarlyLesson('pid', { labUrl: async () => url, tokens: memoryTokens(), openWhen: new Promise<void>(() => undefined) });
    await vi.waitFor(() => expect(lab.sockets).toHaveLength(1), UNTIL);
    await vi.waitFor(() => expect(lab.sockets[0].connected).toBe(true), UNTIL);
    cancelEarlyLesson('pid');
    await vi.waitFor(() => expect(lab.sockets[0].connected).toBe(false), UNTIL);
    expect(asked).not.toContain('sandbox:open');
    // Another lesson's press is not this one's to cancel.
    early('uts');
    cancelEarlyLesson('pid');
    const next = claimEarlyLesson('uts');
    expect(next).toBeDefined();
    owned.push(next!);
    await live(next!);
  });

  it('closes when no page claims it', () => {
    vi.useFakeTimers();
    startEarlyLesson('pid', { labUrl: () => new Promise<string>(() => undefined), tokens: memoryTokens() });
    vi.advanceTimersByTime(UNCLAIMED_CLOSE_MS);
    expect(claimEarlyLesson('pid')).toBeUndefined();
  });

  it('does not count the page’s own loading against the lab: its connect deadline starts when the page listens', async () => {
    lab.silent = true;
    let pageListens!: () => void;
    const deadlineFrom = new Promise<void>((resolve) => (pageListens = resolve));
    let outcome = 'pending';
    const attempt = LabClient.connect(url, { timeoutMs: 50, deadlineFrom }).then(
      () => (outcome = 'connected'),
      (error: LabRequestError) => (outcome = error.code),
    );
    // Far past its deadline, had it counted from the start (a busy page takes seconds to load).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(outcome).toBe('pending');
    pageListens();
    await attempt;
    expect(outcome).toBe('TIMEOUT');
  });
});

describe('a lesson opened by its address, started by the page’s head start before any of Next’s code', () => {
  /** The page as the head start script sees it: a lesson's address, the lab's address in its cookie, storage. */
  function lessonPage(slug = 'pid', cookie = `${LAB_CONFIG_COOKIE}=${encodeURIComponent(labConfigCookieValue({ labUrl: url, labPort: 1 }, 'lab.test'))}`) {
    vi.stubGlobal('window', {
      location: { pathname: `/lessons/${slug}`, host: 'lab.test', hostname: 'lab.test', protocol: 'http:' },
      localStorage: memoryStorage(),
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    });
    vi.stubGlobal('document', { cookie, readyState: 'complete' });
  }

  /** Every event each socket sent the lab, per socket. */
  function askedPerSocket(): string[][] {
    const asked: string[][] = [];
    lab.io.on('connection', (socket) => {
      const mine: string[] = [];
      asked.push(mine);
      socket.onAny((event: string) => mine.push(event));
    });
    return asked;
  }

  /** What instrumentation-client.ts does once Next's code runs, and then the page when it hydrates. */
  function appCodeRuns(slug = 'pid'): SandboxConnection {
    noLaterHeadStart();
    startEarlyLesson(slug, { labUrl: async () => url, tokens: memoryTokens() });
    const connection = lessonPageConnection(slug);
    owned.push(connection);
    connection.start();
    return connection;
  }

  afterEach(() => {
    const start = globalThis.window?.isolabHeadStart;
    if (typeof start === 'object') start.close();
    vi.unstubAllGlobals();
  });

  it('asks for the sandbox at once; the page takes that socket over, with its answer and what the lab said before the page listened', async () => {
    const asked = askedPerSocket();
    lab.greet = [['class:broadcast-status', { active: true }]];
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(asked[0]).toContain('sandbox:open'), UNTIL);

    const connection = appCodeRuns();
    expect((await live(connection)).sandbox?.sandboxId).toBe(SANDBOX.sandboxId);
    const { classroom } = startClassroom(connection);
    owned.push(classroom);
    expect(classroom.state.get().broadcastLive).toBe(true);
    // One socket, which asked for the sandbox once; terminal 1 opens on it.
    await vi.waitFor(() => expect(asked[0]).toContain('terminal:open'), UNTIL);
    expect(asked).toHaveLength(1);
    expect(asked[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
  });

  /** Terminal 1 as the page makes it once xterm.js has loaded: it takes the connection's open over, writing what comes into `screen`. */
  function terminalOne(connection: SandboxConnection) {
    const shown = { screen: [] as string[], early: undefined as EarlyTerminal | undefined, stream: undefined as OutputStream | undefined, refusal: undefined as string | undefined };
    connection.register({
      slot: 0,
      attach: async (_client, _sandboxId, _terminalId, early) => {
        shown.early = early;
        const opened = await early!.opened.catch((error: Error) => {
          shown.refusal = error.message;
          throw error;
        });
        shown.stream = early!.adopt({ write: (data, written) => (shown.screen.push(data), written?.()) }, () => undefined);
        return opened.terminalId;
      },
      detach: () => undefined,
      type: () => false,
      focus: () => undefined,
    });
    return shown;
  }

  /** Resolves once everything the lab sent the head start's socket so far has arrived (socket.io keeps the order). */
  async function headStartHeardAll(): Promise<void> {
    const start = window.isolabHeadStart as LessonHeadStart;
    await start.socket.emitWithAck('sandbox:list', {});
  }

  it('attaches terminal 1 the moment its sandbox answers; the page takes that attach over, with the shell’s output held, once, in order, acknowledged only once on screen', async () => {
    const asked = askedPerSocket();
    lab.greet = [['class:broadcast-status', { active: true }]];
    // More output events than the head start keeps of other events.
    lab.terminalOutput = Array.from({ length: KEPT_EVENTS_MAX + 20 }, (_, n) => `line ${n}\r\n`);
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(asked[0]).toContain('terminal:open'), UNTIL);
    await headStartHeardAll();
    // Nothing is on screen yet: nothing is acknowledged, so the lab pauses a shell that says more.
    expect(lab.acked).toBe(0);

    const connection = appCodeRuns();
    await live(connection);
    const { classroom } = startClassroom(connection);
    owned.push(classroom);
    expect(classroom.state.get().broadcastLive).toBe(true);
    const terminal = terminalOne(connection);
    await vi.waitFor(() => expect(terminal.screen.join('')).toBe(lab.terminalOutput.join('')), UNTIL);
    // What comes later follows on the same stream.
    lab.sockets[0].emit('terminal:output', { terminalId: 'term-run00000001', data: 'later\r\n' });
    await vi.waitFor(() => expect(terminal.screen.at(-1)).toBe('later\r\n'), UNTIL);
    expect(terminal.screen.join('')).toBe([...lab.terminalOutput, 'later\r\n'].join(''));
    await vi.waitFor(() => expect(lab.acked).toBe(terminal.screen.join('').length), UNTIL);

    // One socket, one sandbox:open, one terminal:open for terminal 1, at the size the page then corrects.
    expect(asked).toHaveLength(1);
    expect(asked[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
    expect(lab.terminalOpens).toEqual([{ sandboxId: SANDBOX.sandboxId, ...EARLY_TERMINAL_SIZE, terminalId: 'term-run00000001' }]);
    expect(terminal.early!.size).toEqual(EARLY_TERMINAL_SIZE);
  });

  it('hands its attach to terminal 1 also when that terminal registered before the page’s connection went live', async () => {
    lab.terminalOutput = ['prompt$ '];
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(lab.terminalOpens).toHaveLength(1), UNTIL);
    await headStartHeardAll();
    const connection = appCodeRuns();
    const terminal = terminalOne(connection);
    await vi.waitFor(() => expect(terminal.screen).toEqual(['prompt$ ']), UNTIL);
    expect(lab.terminalOpens).toHaveLength(1);
  });

  it('taken over while its sandbox was still starting, the page attaches terminal 1 itself, once', async () => {
    let started!: () => void;
    lab.holdOpen = new Promise<void>((resolve) => (started = resolve));
    const asked = askedPerSocket();
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(asked[0]).toContain('sandbox:open'), UNTIL);
    const connection = appCodeRuns();
    await vi.waitFor(() => expect(connection.labClient).toBeDefined(), UNTIL);
    started();
    await live(connection);
    const terminal = terminalOne(connection);
    // Answered (the lab answers before it says anything more): the shell's output follows.
    await vi.waitFor(() => expect(lab.terminalOpens).toHaveLength(1), UNTIL);
    lab.sockets[0].emit('terminal:output', { terminalId: 'term-run00000001', data: 'prompt$ ' });
    await vi.waitFor(() => expect(terminal.screen).toEqual(['prompt$ ']), UNTIL);
    expect(asked).toHaveLength(1);
    expect(lab.terminalOpens).toHaveLength(1);
  });

  it('a refused attach of terminal 1 reaches the page’s terminal, which says why', async () => {
    lab.refuseTerminal = 'That terminal is gone (refused by the test).';
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(lab.terminalOpens).toHaveLength(1), UNTIL);
    const connection = appCodeRuns();
    await live(connection);
    const terminal = terminalOne(connection);
    await vi.waitFor(() => expect(terminal.refusal).toBe('That terminal is gone (refused by the test).'), UNTIL);
    expect(lab.terminalOpens).toHaveLength(1);
  });

  it('holds no more than its bound of output: past it the output is dropped, unacknowledged, and the page’s terminal attaches again for the screen', async () => {
    const piece = 'x'.repeat(FLOW_CONTROL.highWaterChars);
    lab.terminalOutput = Array.from({ length: HELD_OUTPUT_MAX_CHARS / piece.length + 1 }, () => piece);
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(lab.terminalOpens).toHaveLength(1), UNTIL);
    await headStartHeardAll();
    const connection = appCodeRuns();
    await live(connection);
    const terminal = terminalOne(connection);
    await vi.waitFor(() => expect(terminal.early).toBeDefined(), UNTIL);
    await terminal.early!.opened;
    // Nothing to take over (OwnedTerminal then attaches again, which brings the screen as a snapshot).
    expect(terminal.stream).toBeUndefined();
    expect(terminal.screen).toEqual([]);
    expect(lab.acked).toBe(0);
  });

  it('taken over before its session came, the page asks for the sandbox itself, once, on the same socket', async () => {
    const asked = askedPerSocket();
    lessonPage();
    startHeadStart();
    const connection = appCodeRuns();
    await live(connection);
    expect(asked).toHaveLength(1);
    expect(asked[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
  });

  it('refused by the lab before the page came, the page says so as if it had connected itself', async () => {
    lab.io.use((_socket, next) => next(Object.assign(new Error('refused'), { data: { code: 'ORIGIN_REFUSED', message: 'This page’s address is not one the lab serves.' } })));
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect((window.isolabHeadStart as LessonHeadStart).refused).toBeDefined(), UNTIL);
    const connection = appCodeRuns();
    const status = await statusOf(connection, (status) => status.state === 'error');
    expect(status).toMatchObject({ errorCode: 'ORIGIN_REFUSED', message: 'This page’s address is not one the lab serves.' });
  });

  it('dropped before the page came, the page connects anew and asks for the sandbox on the new socket', async () => {
    const asked = askedPerSocket();
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(asked[0]).toContain('sandbox:open'), UNTIL);
    lab.sockets[0].disconnect(true);
    await vi.waitFor(() => expect((window.isolabHeadStart as LessonHeadStart).dropped).toBe(true), UNTIL);
    const connection = appCodeRuns();
    await live(connection);
    expect(asked).toHaveLength(2);
    expect(asked[1].filter((event) => event === 'sandbox:open')).toHaveLength(1);
    // The head start's attach went with its socket: terminal 1 is attached on the new one.
    await vi.waitFor(() => expect(asked[1]).toContain('terminal:open'), UNTIL);
    expect(asked[1].filter((event) => event === 'terminal:open')).toHaveLength(1);
  });

  it('the page hydrated before its early connection started: the page’s own connection takes the head start over', async () => {
    const asked = askedPerSocket();
    lessonPage();
    startHeadStart();
    await vi.waitFor(() => expect(asked[0]).toContain('sandbox:open'), UNTIL);
    noLaterHeadStart();
    const connection = lessonPageConnection('pid');
    owned.push(connection);
    // The page's classroom listens from the start, and asks for the learner's progress the moment the socket is adopted.
    owned.push(startClassroom(connection).classroom);
    connection.start();
    // The early-lesson chunk came after hydration: too late, it starts nothing.
    startEarlyLesson('pid', { labUrl: async () => url, tokens: memoryTokens() });
    expect(claimEarlyLesson('pid')).toBeUndefined();
    expect((await live(connection)).sandbox?.sandboxId).toBe(SANDBOX.sandboxId);
    expect(asked).toHaveLength(1);
    expect(asked[0].filter((event) => event === 'sandbox:open')).toHaveLength(1);
  });

  it('makes none once the app’s code runs, nor without the lab’s address in the page’s cookie; one for another lesson is closed', async () => {
    lessonPage();
    noLaterHeadStart();
    startHeadStart();
    expect(window.isolabHeadStart).toBe('closed');

    lessonPage('pid', '');
    startHeadStart();
    expect(window.isolabHeadStart).toBeUndefined();

    lessonPage('uts');
    startHeadStart();
    await vi.waitFor(() => expect(lab.sockets.filter((socket) => socket.connected)).toHaveLength(1), UNTIL);
    expect(takeHeadStart('pid')).toBeUndefined();
    await vi.waitFor(() => expect(lab.sockets.filter((socket) => socket.connected)).toHaveLength(0), UNTIL);
  });
});
