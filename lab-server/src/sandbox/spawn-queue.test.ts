import { describe, expect, it } from 'vitest';
import { SpawnQueue } from './spawn-queue';

/** A task that finishes when the test says so. */
function gatedTask(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    run: () => {
      log.push(`start ${name}`);
      return done.then(() => name);
    },
    finish: () => finish(),
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SpawnQueue', () => {
  it('runs opens in arrival order, two at a time, and tells the waiting how many are ahead', async () => {
    const log: string[] = [];
    const queue = new SpawnQueue(2, { openMayStart: (slotFree) => slotFree, backgroundWork: () => undefined });
    const tasks = ['a', 'b', 'c', 'd'].map((name) => gatedTask(log, name));
    const ahead: Record<string, number[]> = { a: [], b: [], c: [], d: [] };
    const results = tasks.map((task, i) => queue.open(task.run, { onAhead: (n) => ahead['abcd'[i]].push(n) }));
    expect(log).toEqual(['start a', 'start b']);
    expect(ahead).toEqual({ a: [], b: [], c: [0], d: [1] });
    tasks[1].finish();
    await flush();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    tasks[0].finish();
    tasks[2].finish();
    tasks[3].finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(log).toEqual(['start a', 'start b', 'start c', 'start d']);
  });

  it('a learner who leaves the line frees the place, and the one behind moves up', async () => {
    const log: string[] = [];
    const queue = new SpawnQueue(1, { openMayStart: (slotFree) => slotFree, backgroundWork: () => undefined });
    const first = gatedTask(log, 'first');
    const leaving = new AbortController();
    const behind: number[] = [];
    void queue.open(first.run);
    const left = queue.open(gatedTask(log, 'left').run, { signal: leaving.signal });
    const last = gatedTask(log, 'last');
    const lastResult = queue.open(last.run, { onAhead: (n) => behind.push(n) });
    expect(queue.waiting).toBe(2);
    leaving.abort();
    await expect(left).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('You left the line') });
    expect(queue.waiting).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(behind).toEqual([1, 0]);
    first.finish();
    await flush();
    last.finish();
    expect(await lastResult).toBe('last');
    expect(log).toEqual(['start first', 'start last']);
  });

  it('teardowns wait while learners wait, and background work waits for both', async () => {
    const log: string[] = [];
    let background = 1;
    const queue = new SpawnQueue(1, {
      openMayStart: (slotFree) => slotFree,
      backgroundWork: () => (background-- > 0 ? async () => void log.push('start warm') : undefined),
    });
    queue.pump();
    // The background work ran at once, while nothing else waited.
    expect(log).toEqual(['start warm']);
    await flush();
    background = 1;
    const open1 = gatedTask(log, 'open1');
    void queue.open(open1.run);
    const teardown = queue.teardown(async () => void log.push('start teardown'));
    const open2 = gatedTask(log, 'open2');
    void queue.open(open2.run);
    open1.finish();
    await flush();
    expect(log).toEqual(['start warm', 'start open1', 'start open2']);
    open2.finish();
    await teardown;
    await flush();
    expect(log).toEqual(['start warm', 'start open1', 'start open2', 'start teardown', 'start warm']);
  });

  it('an open may start without a slot when the gate says so (a warm sandbox is ready)', async () => {
    const log: string[] = [];
    let warmReady = 0;
    const queue = new SpawnQueue(1, { openMayStart: (slotFree) => warmReady > 0 || slotFree, backgroundWork: () => undefined });
    const busy = gatedTask(log, 'busy');
    void queue.open(busy.run);
    const claim = queue.open(async () => {
      warmReady--;
      log.push('claim');
      return 'warm';
    });
    expect(log).toEqual(['start busy']);
    warmReady = 1;
    queue.pump();
    expect(await claim).toBe('warm');
    expect(log).toEqual(['start busy', 'claim']);
    busy.finish();
  });

  it('a teardown that hangs gives its slot up after its time, and sandboxes start again', async () => {
    const log: string[] = [];
    let overdue = 0;
    const queue = new SpawnQueue(2, { openMayStart: (slotFree) => slotFree, backgroundWork: () => undefined }, () => overdue++, 50);
    const hung = [gatedTask(log, 'hung teardown 1'), gatedTask(log, 'hung teardown 2')];
    const teardowns = hung.map((task) => queue.teardown(() => task.run().then(() => undefined)));
    const open = queue.open(async () => {
      log.push('open');
      return 'started';
    });
    expect(log).toEqual(['start hung teardown 1', 'start hung teardown 2']);
    expect(await open).toBe('started');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(overdue).toBe(2);
    // The teardowns still end in their own time, and free no slot twice.
    for (const task of hung) task.finish();
    await Promise.all(teardowns);
    const more = [gatedTask(log, 'a'), gatedTask(log, 'b'), gatedTask(log, 'c')];
    void more.map((task) => queue.open(task.run));
    expect(log.slice(-2)).toEqual(['start a', 'start b']);
    for (const task of more) task.finish();
  });
});
