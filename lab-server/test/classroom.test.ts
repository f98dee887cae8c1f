/**
 * The classroom protocol: the instructor's powers need the instructor token, a broadcast reaches
 * followers read-only, a spotlight is announced to the learner, and the class controls work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { clientRequests, PROTOCOL_VERSION, requiredRole, type ClassState } from '../../protocol';
import { LabClient } from '../../lib/lab-client';
import { openShell } from './support/shell';
import { TerminalDriver } from './support/terminal-driver';
import { startTestLab, TEST_ORIGIN, type TestLab } from './support/test-lab';

const INSTRUCTOR_TOKEN = 'test-instructor-token-0123456789abcdef';
let lab: TestLab;
let instructor: LabClient;

beforeAll(async () => {
  lab = await startTestLab({ ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN });
  instructor = await lab.connect({ instructorToken: INSTRUCTOR_TOKEN });
});
afterAll(() => lab.close());

const nextState = (client: LabClient, until: (state: ClassState) => boolean) =>
  new Promise<ClassState>((resolve) => {
    const off = client.on('class:state', (state) => {
      if (until(state)) {
        off();
        resolve(state);
      }
    });
  });

describe('instructor access', () => {
  it('a wrong instructor token is refused, not quietly downgraded', async () => {
    await expect(LabClient.connect(lab.url, { origin: TEST_ORIGIN, instructorToken: 'wrong-token-but-long-enough' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('instructor URL'),
    });
  });

  const instructorEvents = Object.keys(clientRequests).filter((event) => requiredRole(event as keyof typeof clientRequests) === 'instructor');
  it.each(instructorEvents)('a learner sending %s directly is refused', async (event) => {
    const learner = await lab.connect();
    const payloads: Record<string, unknown> = {
      'class:broadcast': { terminalId: null },
      'class:spotlight': { sessionId: instructor.session!.sessionId },
      'class:reset-learner': { sessionId: instructor.session!.sessionId },
      'class:set-open': { open: false },
    };
    await expect(learner.request(event as 'class:watch', (payloads[event] ?? {}) as never)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(lab.server.lab.acceptingNew).toBe(true);
    learner.close();
  });
});

describe('the dashboard', () => {
  // Passed steps come only from checks lab-server ran: progress.test.ts.
  it('shows a learner’s name and place as they move through a lesson', async () => {
    const state = await instructor.request('class:watch', {});
    expect(state.labOpen).toBe(true);
    const learner = await lab.connect({ displayName: 'Grace' });
    learner.send('class:progress', { lessonSlug: 'uts', stepId: 'change-the-hostname' });
    const updated = await nextState(instructor, (s) => s.learners.some((l) => l.displayName === 'Grace' && l.stepId === 'change-the-hostname'));
    const grace = updated.learners.find((l) => l.displayName === 'Grace')!;
    expect(grace).toMatchObject({ connected: true, lessonSlug: 'uts', stepId: 'change-the-hostname', passed: {} });
    await learner.request('class:rename', { displayName: 'Grace H.' });
    await nextState(instructor, (s) => s.learners.some((l) => l.displayName === 'Grace H.'));
    learner.close();
    await nextState(instructor, (s) => s.learners.some((l) => l.displayName === 'Grace H.' && !l.connected));
  });
});

describe('broadcast', () => {
  it('mirrors the instructor’s terminal to a follower, who cannot type into it', async () => {
    const demo = await openShell(instructor, 'demo');
    await demo.term.exec('echo before-the-class-joined');
    const learner = await lab.connect();
    const status = new Promise<boolean>((resolve) => learner.on('class:broadcast-status', ({ active }) => resolve(active)));
    await instructor.request('class:broadcast', { terminalId: demo.term.terminalId });
    expect(await status).toBe(true);

    const mirror = await learner.request('class:follow', {});
    expect(mirror.terminalId).toBe(demo.term.terminalId);
    expect(mirror.snapshot).toContain('before-the-class-joined');
    let seen = '';
    learner.on('terminal:output', ({ terminalId, data }) => terminalId === mirror.terminalId && (seen += data));
    await demo.term.exec('echo live-from-the-front');
    await expect.poll(() => seen, { timeout: 5000 }).toContain('live-from-the-front');

    const error = new Promise<string>((resolve) => learner.socket.once('lab:error', (e) => resolve(e.code)));
    learner.send('terminal:input', { terminalId: mirror.terminalId, data: 'touch /tmp/learner-typed\r' });
    expect(await error).toBe('NOT_FOUND');
    expect(await demo.term.exec('ls /tmp/learner-typed 2>&1')).toMatch(/No such file/);

    const stopped = new Promise<boolean>((resolve) => learner.on('class:broadcast-status', ({ active }) => !active && resolve(active)));
    await instructor.request('class:broadcast', { terminalId: null });
    expect(await stopped).toBe(false);
    await expect(learner.request('class:follow', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    learner.close();
  });

  it('cannot broadcast a terminal the instructor does not own', async () => {
    const learner = await lab.connect();
    const { term } = await openShell(learner, 'mine');
    await expect(instructor.request('class:broadcast', { terminalId: term.terminalId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    learner.close();
  });
});

describe('spotlight', () => {
  it('shows the instructor a learner’s screen, and the learner sees the badge', async () => {
    const learner = await lab.connect();
    const { term } = await openShell(learner, 'stuck');
    await term.exec('echo i-am-stuck-here');
    const badge = new Promise<boolean>((resolve) => learner.on('class:spotlighted', ({ active }) => resolve(active)));
    const view = await instructor.request('class:spotlight', { sessionId: learner.session!.sessionId });
    expect(await badge).toBe(true);
    expect(view.snapshot).toContain('i-am-stuck-here');
    const watching = await TerminalDriver.open(instructor, view.sandboxId, { terminalId: view.terminalId }).catch((e) => e);
    expect(watching).toMatchObject({ code: 'NOT_FOUND' }); // seeing is not owning

    // The learner reloads the page: the new connection is told at once that someone is looking.
    // (A raw socket, so the listener is there before the first event can arrive.)
    const reloaded = io(lab.url, {
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION, token: learner.session!.token },
      extraHeaders: { origin: TEST_ORIGIN },
      forceNew: true,
    });
    const told = new Promise<boolean>((resolve) => reloaded.on('class:spotlighted', ({ active }: { active: boolean }) => resolve(active)));
    expect(await told).toBe(true);

    const off = new Promise<boolean>((resolve) => learner.on('class:spotlighted', ({ active }) => !active && resolve(active)));
    await instructor.request('class:spotlight-end', {});
    expect(await off).toBe(false);
    reloaded.close();
    learner.close();
  });
});

describe('class controls', () => {
  it('resets one learner, closes and opens the lab, and ends every learner sandbox but the demo', async () => {
    const learner = await lab.connect();
    const { sandbox } = await openShell(learner, 'reset-me');
    const closed = new Promise<string>((resolve) => learner.on('sandbox:closed', (e) => e.sandboxId === sandbox.sandboxId && resolve(e.reason)));
    expect(await instructor.request('class:reset-learner', { sessionId: learner.session!.sessionId })).toEqual({ closed: 1 });
    expect(await closed).toBe('instructor');

    await instructor.request('class:set-open', { open: false });
    await expect(learner.request('sandbox:open', { key: 'late' })).rejects.toMatchObject({ code: 'LAB_CLOSED' });
    const demo = await instructor.request('sandbox:open', { key: 'demo-while-closed' });
    expect(demo.sandboxId).toMatch(/^sbx-/);
    await instructor.request('class:set-open', { open: true });

    await openShell(learner, 'again');
    const before = lab.server.lab.all().length;
    const { closed: ended } = await instructor.request('class:end-all', {});
    expect(ended).toBeGreaterThanOrEqual(1);
    const left = lab.server.lab.all();
    expect(left.length).toBe(before - ended);
    expect(left.every((s) => s.ownerSessionId === instructor.session!.sessionId)).toBe(true);
    learner.close();
  });
});
