/**
 * A terminal's stream from one lab node to another, over an in-memory bus in place of Redis
 * (the real path, through redis-server and socket.io's adapter, is in lab-server/test/cluster.test.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakePty } from '../runtime/fake-pty';
import { LabTerminal } from '../sandbox/terminal';
import { STREAM_BURST_BYTES, STREAM_BYTES_PER_SECOND, TerminalStreams, type StreamReplica } from './terminal-stream';

type Handler = (...args: unknown[]) => void;

/** Two nodes joined as socket.io's adapter joins them: emits reach the other node later, asks gather its answer. */
function twoNodes(options: { drop?: (event: string, args: unknown[]) => boolean } = {}) {
  const handlers = new Map<string, Map<string, Handler>>();
  const wire: Array<{ event: string; args: unknown[] }> = [];
  const join = (node: string, other: string) => {
    const own = new Map<string, Handler>();
    handlers.set(node, own);
    const streams = new TerminalStreams(node);
    streams.attach(
      (event, ...args) => {
        wire.push({ event, args });
        if (options.drop?.(event, args)) return;
        setImmediate(() => handlers.get(other)?.get(event)?.(...args));
      },
      <T,>(event: string, ...args: unknown[]) =>
        new Promise<T[]>((resolve) => {
          const handler = handlers.get(other)?.get(event);
          if (!handler) return resolve([]);
          handler(...args, (answer: T) => resolve([answer]));
        }),
      (event, listener) => own.set(event, listener as Handler),
    );
    return streams;
  };
  return { a: join('a', 'b'), b: join('b', 'a'), wire };
}

const disposables: Array<{ dispose(): void }> = [];
afterEach(() => {
  for (const made of disposables.splice(0)) made.dispose();
});

function sourceTerminal() {
  const pty = new FakePty();
  const terminal = new LabTerminal('term-aaaaaaaa', 'run', pty, { cols: 80, rows: 24 });
  disposables.push(terminal);
  return { pty, terminal };
}

/** What a viewer of the replica would be shown now. */
async function screenOf(replica: StreamReplica): Promise<string> {
  const id = `probe-${Math.random()}`;
  const screen = await replica.terminal.attach({ id, governsFlow: false, sendOutput: () => undefined, sendExit: () => undefined });
  replica.terminal.detach(id);
  return screen;
}

const until = (check: () => Promise<void> | void) => vi.waitFor(check, { timeout: 30_000, interval: 20 });

/** Publishes a terminal on node a and copies it on node b. */
async function streamed(nodes: ReturnType<typeof twoNodes>, ended: () => void = () => undefined) {
  const { pty, terminal } = sourceTerminal();
  const source = nodes.a.publish('ch');
  await terminal.attach(source.viewer(terminal));
  const replica = (await nodes.b.replicate('ch', () => nodes.b.snapshotOf('ch'), ended))!;
  expect(replica).toBeDefined();
  disposables.push(nodes.a, nodes.b);
  return { pty, terminal, replica };
}

describe('a terminal stream between two lab nodes', { timeout: 60_000 }, () => {
  it('starts the copy from the screen so far, then follows the output', async () => {
    const nodes = twoNodes();
    const { pty, terminal } = sourceTerminal();
    pty.output('before-the-copy\r\n');
    const source = nodes.a.publish('ch');
    await terminal.attach(source.viewer(terminal));
    const replica = (await nodes.b.replicate('ch', () => nodes.b.snapshotOf('ch'), () => undefined))!;
    disposables.push(nodes.a, nodes.b);
    expect(await screenOf(replica)).toContain('before-the-copy');
    pty.output('live-output\r\n');
    await until(async () => expect(await screenOf(replica)).toContain('live-output'));
  });

  it('fetches the screen again when a message is lost, instead of showing a garbled one', async () => {
    let outs = 0;
    const nodes = twoNodes({ drop: (event) => event === 'isolab:ts-out' && ++outs === 2 });
    const { pty, replica } = await streamed(nodes);
    for (const line of ['one', 'two', 'three']) {
      pty.output(`line-${line}\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await until(async () => expect(await screenOf(replica)).toMatch(/line-one[\s\S]*line-two[\s\S]*line-three/));
  });

  it('puts no more than its budget on the wire during a flood, and the copy still ends on the last screen', async () => {
    const nodes = twoNodes();
    const { pty, replica } = await streamed(nodes);
    const started = performance.now();
    const line = `${'x'.repeat(99)}\n`;
    for (let sent = 0; sent < 4 * 1024 * 1024; sent += 64 * line.length) {
      pty.output(line.repeat(64));
      await new Promise((resolve) => setImmediate(resolve));
    }
    pty.output('\r\nthe-flood-is-over\r\n');
    await until(async () => expect(await screenOf(replica)).toContain('the-flood-is-over'));
    const seconds = (performance.now() - started) / 1000;
    const bytes = nodes.wire.filter((message) => message.event === 'isolab:ts-out').reduce((total, message) => total + (message.args[2] as string).length, 0);
    expect(bytes).toBeLessThanOrEqual(STREAM_BURST_BYTES + STREAM_BYTES_PER_SECOND * seconds);
    // It was a flood: most of it was held back.
    expect(bytes).toBeLessThan(4 * 1024 * 1024);
  });

  it("gives the copy's viewers the exit, then ends the copy; unpublishing ends it too", async () => {
    const nodes = twoNodes();
    let ended = 0;
    const { pty, replica } = await streamed(nodes, () => ended++);
    const exits: number[] = [];
    await replica.terminal.attach({ id: 'instructor', governsFlow: false, sendOutput: () => undefined, sendExit: (code) => exits.push(code) });
    pty.exit(3);
    await until(() => expect(ended).toBe(1));
    expect(exits).toEqual([3]);

    const other = twoNodes();
    let otherEnded = 0;
    await streamed(other, () => otherEnded++);
    other.a.unpublish('ch');
    await until(() => expect(otherEnded).toBe(1));
  });

  it('a copy of a stream nobody publishes is not made', async () => {
    const nodes = twoNodes();
    disposables.push(nodes.a, nodes.b);
    expect(await nodes.b.replicate('nobody', () => nodes.b.snapshotOf('nobody'), () => undefined)).toBeUndefined();
  });
});
