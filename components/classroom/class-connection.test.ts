import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LabRequestError, type LabClient } from '../../lib/lab-client';
import type { ClassState } from '../../protocol';
import { RETRY_DELAYS_MS } from '../terminal/sandbox-connection';
import { ClassConnection } from './class-connection';
import type { MirrorView } from './mirror-channel';

const EMPTY: ClassState = { learners: [], stepPasses: {}, labOpen: true, broadcast: null, sandboxes: { live: 0, max: 10 }, warmPool: { ready: 0, starting: 0, target: 0, reserved: 0 } };

/** One instructor socket, as far as the dashboard uses it. */
class FakeClient {
  requests: string[] = [];
  closed = false;
  private listeners = new Map<string, Set<(payload: never) => void>>();
  private disconnectListeners = new Set<(reason: string) => void>();
  socket = {
    connected: true,
    on: (_event: 'disconnect', listener: (reason: string) => void) => this.disconnectListeners.add(listener),
    off: (_event: 'disconnect', listener: (reason: string) => void) => this.disconnectListeners.delete(listener),
  };

  onSession(listener: (session: { token: string }) => void) {
    listener({ token: 'instructor-session-token' });
    return () => undefined;
  }
  on(event: string, listener: (payload: never) => void) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return () => this.listeners.get(event)!.delete(listener);
  }
  emit(event: string, payload: unknown) {
    for (const listener of this.listeners.get(event) ?? []) listener(payload as never);
  }
  async request(event: string) {
    this.requests.push(event);
    if (event === 'class:watch') return EMPTY;
    if (event === 'class:spotlight') return { sandboxId: 'sbx-00000001', terminalId: 'term-learner1', cols: 80, rows: 24, snapshot: 'their screen' };
    return {};
  }
  drop() {
    this.socket.connected = false;
    for (const listener of this.disconnectListeners) listener('transport close');
  }
  close() {
    this.closed = true;
  }
}

function setup(refusal?: LabRequestError) {
  const clients: FakeClient[] = [];
  let token: string | undefined;
  const connection = new ClassConnection({
    instructorToken: 'the-instructor-token',
    labUrl: async () => 'http://lab.test:3001',
    tokens: { get: () => token, set: (value) => (token = value) },
    connect: async (_url, options) => {
      expect(options.instructorToken).toBe('the-instructor-token');
      if (refusal) throw refusal;
      const client = new FakeClient();
      clients.push(client);
      return client as unknown as LabClient;
    },
  });
  return { connection, clients, token: () => token };
}

const settle = async (ms = 0) => {
  for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(ms / 10);
};

describe('ClassConnection', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('watches the class and follows the pushed state', async () => {
    const { connection, clients, token } = setup();
    connection.start();
    await settle();
    expect(connection.getSnapshot()).toMatchObject({ state: 'live', classState: EMPTY });
    expect(token()).toBe('instructor-session-token');
    clients[0].emit('class:state', { ...EMPTY, labOpen: false });
    expect(connection.getSnapshot().classState?.labOpen).toBe(false);
  });

  it('takes a refused token as final: no retries, and the reason for the page', async () => {
    const { connection } = setup(new LabRequestError('FORBIDDEN', 'That instructor link is not valid.'));
    connection.start();
    await settle(30_000);
    expect(connection.getSnapshot()).toMatchObject({ state: 'refused', message: 'That instructor link is not valid.' });
    expect(connection.getSnapshot().classState).toBeUndefined();
  });

  it('after a drop, keeps the last state on screen, reconnects, watches again and reopens the spotlight', async () => {
    const { connection, clients } = setup();
    connection.start();
    await settle();
    const view: MirrorView & { shown: string[] } = { shown: [], watch: (_client, mirror) => view.shown.push(mirror.snapshot), detach: vi.fn() };
    connection.registerSpotlightView(view);
    connection.spotlight('ses-0123456789ab');
    await settle();
    expect(view.shown).toEqual(['their screen']);

    clients[0].drop();
    expect(connection.getSnapshot()).toMatchObject({ state: 'reconnecting', classState: EMPTY });
    await settle(RETRY_DELAYS_MS[0]);
    expect(connection.getSnapshot().state).toBe('live');
    expect(clients[1].requests).toEqual(['class:watch', 'class:spotlight']);
    expect(view.shown).toEqual(['their screen', 'their screen']);

    connection.endSpotlight();
    expect(clients[1].requests.at(-1)).toBe('class:spotlight-end');
    expect(connection.getSnapshot().spotlight).toBeUndefined();
  });
});
