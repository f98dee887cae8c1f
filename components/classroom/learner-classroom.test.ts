import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeLabClient } from '../../lib/fake-lab-client';
import type { LabClient } from '../../lib/lab-client';
import { ProgressStore } from '../progress/progress-store';
import { DisplayNameStore } from './display-name-store';
import { BROADCAST_GAP_MS, LearnerClassroom } from './learner-classroom';
import type { MirrorTarget } from './mirror-channel';

/** One socket to lab-server, answering the classroom's requests. */
class FakeClient extends FakeLabClient {
  /** What lab-server's class record holds for this learner. */
  readonly recorded: Array<{ lessonSlug: string; stepId: string; passedAt: number }>;

  constructor(displayName = 'swift-otter') {
    const recorded: FakeClient['recorded'] = [];
    super({
      displayName,
      answer: (event) => {
        if (event === 'class:follow') return { terminalId: 'term-instruct', cols: 80, rows: 24, snapshot: 'screen' };
        if (event === 'progress:get') return { displayName, passes: recorded };
        return {};
      },
    });
    this.recorded = recorded;
  }

  classRequests() {
    return this.requests.filter(([event]) => event !== 'progress:get');
  }

  progressReports() {
    return this.sentOf('class:progress');
  }
}

/** The page's SandboxConnection, as far as the classroom uses it: it hands over each client. */
class FakeConnection {
  private listener: ((client: LabClient) => (() => void) | void) | undefined;
  private cleanup: (() => void) | void = undefined;

  onClient(listener: (client: LabClient) => (() => void) | void) {
    this.listener = listener;
    return () => (this.listener = undefined);
  }

  adopt(client: FakeClient) {
    if (this.cleanup) this.cleanup();
    this.cleanup = this.listener?.(client.client);
  }
}

class FakeView implements MirrorTarget {
  watching: string[] = [];
  detached: string[] = [];
  watch(_client: LabClient, mirror: { terminalId: string; snapshot: string }) {
    this.watching.push(mirror.snapshot);
  }
  detach(reason: string) {
    this.detached.push(reason);
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function memoryStorage() {
  const values = new Map<string, string>();
  return { getItem: (key: string) => values.get(key) ?? null, setItem: (key: string, value: string) => void values.set(key, value), removeItem: (key: string) => void values.delete(key) };
}

let connection: FakeConnection;
let progress: ProgressStore;
let names: DisplayNameStore;
let classroom: LearnerClassroom;

beforeEach(() => {
  connection = new FakeConnection();
  progress = new ProgressStore(memoryStorage());
  names = new DisplayNameStore(memoryStorage());
  classroom = new LearnerClassroom(connection, { slug: 'uts', stepIds: ['read', 'rename', 'join'], progress, names });
  classroom.start();
});
afterEach(() => {
  classroom.dispose();
  vi.useRealTimers();
});

describe('progress reports', () => {
  it('says where the learner is on connecting, and again when a step passes, but not twice for the same', () => {
    progress.markStepDone('uts', 'read');
    const client = new FakeClient();
    connection.adopt(client);
    expect(client.progressReports()).toEqual([{ lessonSlug: 'uts', stepId: 'rename' }]);

    progress.markStepDone('uts', 'rename');
    progress.markStepDone('pid', 'ps'); // another lesson: nothing new to say about this one
    expect(client.progressReports()).toEqual([
      { lessonSlug: 'uts', stepId: 'rename' },
      { lessonSlug: 'uts', stepId: 'join' },
    ]);
  });

  it('takes the class record over this browser’s copy on connecting, and follows its updates', async () => {
    progress.markStepDone('uts', 'join'); // claimed by this browser only: the record does not have it
    const client = new FakeClient();
    client.recorded.push({ lessonSlug: 'uts', stepId: 'read', passedAt: 1000 });
    connection.adopt(client);
    await flush();
    expect(progress.get().lessons).toEqual({ uts: { done: ['read'], updatedAt: 1000 } });
    expect(client.progressReports().at(-1)).toEqual({ lessonSlug: 'uts', stepId: 'rename' });

    client.emit('progress:updated', { displayName: 'swift-otter', passes: [] }); // the learner cleared their record elsewhere
    expect(progress.get().lessons).toEqual({});
  });

  it('reports again on a new connection, because the server may have restarted', () => {
    connection.adopt(new FakeClient());
    const second = new FakeClient();
    connection.adopt(second);
    expect(second.progressReports()).toEqual([{ lessonSlug: 'uts', stepId: 'read' }]);
  });
});

describe('display name', () => {
  it('remembers the generated name, and sends a chosen one, now and when it changes', async () => {
    const client = new FakeClient('swift-otter');
    connection.adopt(client);
    expect(names.get().generated).toBe('swift-otter');
    expect(client.classRequests()).toEqual([]);

    names.choose('Ada');
    await flush();
    expect(client.classRequests()).toEqual([['class:rename', { displayName: 'Ada' }]]);
    const next = new FakeClient('Ada');
    connection.adopt(next);
    expect(next.classRequests()).toEqual([]);
  });
});

describe('following the broadcast', () => {
  it('offers to follow only while the instructor broadcasts, and shows the mirror once a view is there', async () => {
    const client = new FakeClient();
    connection.adopt(client);
    classroom.follow();
    expect(classroom.state.get().following).toBe(false);

    client.emit('class:broadcast-status', { active: true });
    expect(classroom.state.get().broadcastLive).toBe(true);
    classroom.follow();
    expect(classroom.state.get().following).toBe(true);
    expect(client.classRequests()).toEqual([]);

    const view = new FakeView();
    classroom.registerMirror(view);
    await flush();
    expect(client.classRequests()).toEqual([['class:follow', {}]]);
    expect(view.watching).toEqual(['screen']);

    classroom.unfollow();
    expect(classroom.state.get().following).toBe(false);
    expect(client.classRequests().at(-1)).toEqual(['class:unfollow', {}]);
  });

  it('follows a broadcast that moves to another terminal, and goes back home when it really ends', async () => {
    vi.useFakeTimers();
    const client = new FakeClient();
    connection.adopt(client);
    client.emit('class:broadcast-status', { active: true });
    classroom.follow();
    const view = new FakeView();
    classroom.registerMirror(view);
    await vi.advanceTimersByTimeAsync(0);

    // Moving the broadcast stops and starts it: the learner stays with it.
    client.emit('class:broadcast-status', { active: false });
    client.emit('class:broadcast-status', { active: true });
    await vi.advanceTimersByTimeAsync(BROADCAST_GAP_MS + 100);
    expect(classroom.state.get().following).toBe(true);
    expect(view.watching).toHaveLength(2);

    client.emit('class:broadcast-status', { active: false });
    await vi.advanceTimersByTimeAsync(BROADCAST_GAP_MS + 100);
    expect(classroom.state.get()).toMatchObject({ following: false, broadcastLive: false, notice: expect.stringContaining('stopped broadcasting') });
  });
});

describe('the spotlight', () => {
  it('shows while the instructor views the terminal, and stays on across a reconnect until told otherwise', () => {
    const client = new FakeClient();
    connection.adopt(client);
    client.emit('class:spotlighted', { active: true });
    expect(classroom.state.get().spotlighted).toBe(true);
    const next = new FakeClient();
    connection.adopt(next);
    expect(classroom.state.get().spotlighted).toBe(true);
    next.emit('class:spotlighted', { active: false });
    expect(classroom.state.get().spotlighted).toBe(false);
  });
});
