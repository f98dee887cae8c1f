import { describe, expect, it, vi } from 'vitest';
import { clientMessages, clientRequests, type Role } from '../../../protocol';
import { LabError } from '../errors';
import { silentLogger } from '../log';
import { createDispatch } from './dispatch';
import type { HandlerSet, LabSocket } from './handler-types';

/** Handlers for the whole protocol: each request answers `{ handled: event }`, messages are recorded. */
function everyHandler(overrides: Partial<HandlerSet['requests']> = {}) {
  const messages: Array<[string, unknown]> = [];
  const handlers: HandlerSet = {
    requests: Object.fromEntries(Object.keys(clientRequests).map((event) => [event, () => ({ handled: event })])),
    messages: Object.fromEntries(Object.keys(clientMessages).map((event) => [event, (_socket: LabSocket, payload: unknown) => void messages.push([event, payload])])),
  };
  Object.assign(handlers.requests, overrides);
  return { handlers, messages };
}

/** A connection as the dispatcher sees it: its session and role, what it was sent, whether it was cut off. */
function fakeSocket(role: Role = 'learner') {
  const emitted: Array<[string, unknown]> = [];
  const socket = {
    data: { session: { id: 'ses-0123456789ab' }, role },
    emit: (event: string, payload: unknown) => void emitted.push([event, payload]),
    disconnect: vi.fn(),
  } as unknown as LabSocket;
  return { socket, emitted };
}

/** Sends a request and resolves with what the ack got. */
function ask(dispatch: ReturnType<typeof createDispatch>, socket: LabSocket, event: string, payload: unknown) {
  return new Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }>((resolve) => dispatch(socket, event, [payload, resolve]));
}

describe('dispatch (no root, no sockets)', () => {
  it('refuses to start when an event of the protocol has no handler', () => {
    const { handlers } = everyHandler();
    delete handlers.requests['sandbox:open'];
    expect(() => createDispatch([handlers], silentLogger)).toThrow(/No handler for protocol events: sandbox:open/);
  });

  it('hands valid requests to their handler and answers with its value', async () => {
    const { handlers } = everyHandler();
    const dispatch = createDispatch([handlers], silentLogger);
    const { socket } = fakeSocket();
    await expect(ask(dispatch, socket, 'sandbox:open', { key: 'uts' })).resolves.toEqual({ ok: true, value: { handled: 'sandbox:open' } });
  });

  it('answers a payload that fails its schema with BAD_REQUEST naming the field, and never calls the handler', async () => {
    const open = vi.fn();
    const dispatch = createDispatch([everyHandler({ 'sandbox:open': open }).handlers], silentLogger);
    const answer = await ask(dispatch, fakeSocket().socket, 'sandbox:open', { key: '../../etc' });
    expect(answer).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(answer.error!.message).toMatch(/"sandbox:open" was rejected: key: /);
    expect(open).not.toHaveBeenCalled();
  });

  it('refuses instructor requests from a learner, and takes them from the instructor', async () => {
    const dispatch = createDispatch([everyHandler().handlers], silentLogger);
    await expect(ask(dispatch, fakeSocket('learner').socket, 'class:set-open', { open: false })).resolves.toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await expect(ask(dispatch, fakeSocket('instructor').socket, 'class:set-open', { open: false })).resolves.toMatchObject({ ok: true });
  });

  it('turns a handler’s LabError into its coded refusal, and anything else into INTERNAL', async () => {
    const dispatch = createDispatch(
      [
        everyHandler({
          'sandbox:open': () => {
            throw new LabError('LAB_FULL', 'The lab is full.');
          },
          'sandbox:list': () => Promise.reject(new Error('a bug')),
        }).handlers,
      ],
      silentLogger,
    );
    const { socket } = fakeSocket();
    await expect(ask(dispatch, socket, 'sandbox:open', { key: 'uts' })).resolves.toMatchObject({ ok: false, error: { code: 'LAB_FULL', message: 'The lab is full.' } });
    await expect(ask(dispatch, socket, 'sandbox:list', {})).resolves.toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });

  it('answers unknown events and bad messages with lab:error, and passes good messages on', () => {
    const { handlers, messages } = everyHandler();
    const dispatch = createDispatch([handlers], silentLogger);
    const { socket, emitted } = fakeSocket();
    dispatch(socket, 'rm -rf /', [{}]);
    dispatch(socket, 'terminal:input', [{ terminalId: 'nope', data: 'ls\r' }]);
    dispatch(socket, 'terminal:input', [{ terminalId: 'term-aaaaaaaa', data: 'ls\r' }]);
    expect(emitted.map(([event, payload]) => [event, (payload as { code: string }).code])).toEqual([
      ['lab:error', 'UNKNOWN_EVENT'],
      ['lab:error', 'BAD_REQUEST'],
    ]);
    expect(messages).toEqual([['terminal:input', { terminalId: 'term-aaaaaaaa', data: 'ls\r' }]]);
  });

  it('drops a flood, says so at most once a second, and cuts the connection off if it keeps on', () => {
    // The clock stands still, so a slow machine refills no tokens mid-flood.
    vi.useFakeTimers({ toFake: ['performance'] });
    vi.advanceTimersByTime(60_000);
    try {
      const { handlers, messages } = everyHandler();
      const dispatch = createDispatch([handlers], silentLogger);
      const { socket, emitted } = fakeSocket();
      for (let i = 0; i < 3000; i++) dispatch(socket, 'terminal:input', [{ terminalId: 'term-aaaaaaaa', data: 'y' }]);
      expect(messages).toHaveLength(400);
      expect(emitted.filter(([, payload]) => (payload as { code: string }).code === 'RATE_LIMITED')).toHaveLength(1);
      expect(socket.disconnect).toHaveBeenCalledWith(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
