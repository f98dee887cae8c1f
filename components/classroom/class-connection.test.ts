import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeLabClient } from '../../lib/fake-lab-client';
import { LabRequestError } from '../../lib/lab-client';
import type { ClassState } from '../../protocol';
import { RETRY_DELAYS_MS } from '../connection/lab-connection';
import { ClassConnection } from './class-connection';
import type { MirrorTarget } from './mirror-channel';

const EMPTY: ClassState = { learners: [], stepPasses: {}, labOpen: true, broadcast: null, sandboxes: { live: 0, max: 10 }, warmPool: { ready: 0, starting: 0, target: 0, reserved: 0 } };

/** What lab-server answers the dashboard's requests. */
function answer(event: string): unknown {
  if (event === 'class:watch') return EMPTY;
  if (event === 'class:spotlight') return { sandboxId: 'sbx-00000001', terminalId: 'term-learner1', cols: 80, rows: 24, snapshot: 'their screen' };
  return {};
}

function setup(refusal?: LabRequestError) {
  const clients: FakeLabClient[] = [];
  let token: string | undefined;
  const connection = new ClassConnection({
    instructorToken: 'the-instructor-token',
    labUrl: async () => 'http://lab.test:3001',
    tokens: { get: () => token, set: (value) => (token = value) },
    connect: async (_url, options) => {
      expect(options.instructorToken).toBe('the-instructor-token');
      if (refusal) throw refusal;
      const client = new FakeLabClient({ token: 'instructor-session-token', answer });
      clients.push(client);
      return client.client;
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
    expect(connection.state.get()).toMatchObject({ state: 'live', classState: EMPTY });
    expect(token()).toBe('instructor-session-token');
    clients[0].emit('class:state', { ...EMPTY, labOpen: false });
    expect(connection.state.get().classState?.labOpen).toBe(false);
  });

  it('takes a refused token as final: no retries, and the reason for the page', async () => {
    const { connection } = setup(new LabRequestError('FORBIDDEN', 'That instructor link is not valid.'));
    connection.start();
    await settle(30_000);
    expect(connection.state.get()).toMatchObject({ state: 'refused', message: 'That instructor link is not valid.' });
    expect(connection.state.get().classState).toBeUndefined();
  });

  it('after a drop, keeps the last state on screen, reconnects, watches again and reopens the spotlight', async () => {
    const { connection, clients } = setup();
    connection.start();
    await settle();
    const view: MirrorTarget & { shown: string[] } = { shown: [], watch: (_client, mirror) => view.shown.push(mirror.snapshot), detach: vi.fn() };
    connection.registerSpotlightView(view);
    connection.spotlight('ses-0123456789ab');
    await settle();
    expect(view.shown).toEqual(['their screen']);

    clients[0].drop();
    expect(connection.state.get()).toMatchObject({ state: 'reconnecting', classState: EMPTY });
    await settle(RETRY_DELAYS_MS[0]);
    expect(connection.state.get().state).toBe('live');
    expect(clients[1].requestNames()).toEqual(['class:watch', 'class:spotlight']);
    expect(view.shown).toEqual(['their screen', 'their screen']);

    connection.endSpotlight();
    expect(clients[1].requestNames().at(-1)).toBe('class:spotlight-end');
    expect(connection.state.get().spotlight).toBeUndefined();
  });
});
