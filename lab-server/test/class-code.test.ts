/**
 * The class code keeps a lab to one class: without it no session and so no sandbox, with it a
 * sandbox; the instructor changes it, sees who joined with an old one, and ends them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassState } from '../../protocol';
import { LabClient } from '../../lib/lab-client';
import { openShell } from './support/shell';
import { TEST_ORIGIN, startTestLab, type TestLab, sandboxById } from './support/test-lab';

const INSTRUCTOR_TOKEN = 'class-code-test-Vb7nM2xQ9rT4kW8pL3sD6f';
let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab({ ISOLAB_CLASS_CODE: 'Otter-42', ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN });
});
afterAll(() => lab?.close());

const attempt = (options: Parameters<TestLab['connect']>[0]) =>
  lab.connect(options).then(
    (client) => client,
    (error: { code: string; message: string }) => `${error.code}: ${error.message}`,
  );

/** The instructor's dashboard state, as it is pushed (the first push follows `class:watch`). */
async function classState(instructor: LabClient, until: (state: ClassState) => boolean): Promise<ClassState> {
  return new Promise((resolve) => {
    const off = instructor.on('class:state', (state) => {
      if (!until(state)) return;
      off();
      resolve(state);
    });
    void instructor.request('class:watch', {}).then((state) => {
      if (until(state)) {
        off();
        resolve(state);
      }
    });
  });
}

describe('with ISOLAB_CLASS_CODE set', () => {
  it('a socket without the code, or with a wrong one, gets no session and so no sandbox', async () => {
    const before = lab.server.lab.size;
    expect(await attempt({ localAddress: '127.0.0.81' })).toBe('CLASS_CODE_REQUIRED: This lab is for a class: enter the class code your instructor gave you.');
    expect(await attempt({ localAddress: '127.0.0.81', classCode: 'otter-41' })).toBe(
      'CLASS_CODE_REQUIRED: That class code is not right. Check it with your instructor and try again.',
    );
    // Raw socket.io, skipping the page and the typed client: still refused at the handshake.
    const { io } = await import('socket.io-client');
    const raw = io(lab.url, { transports: ['websocket'], extraHeaders: { origin: TEST_ORIGIN }, auth: { protocolVersion: 1 }, reconnection: false, forceNew: true });
    const refused = await new Promise<string>((resolve) => raw.on('connect_error', (error: Error & { data?: { code: string } }) => resolve(error.data?.code ?? error.message)));
    raw.close();
    expect(refused).toBe('CLASS_CODE_REQUIRED');
    // This lab keeps no warm pool and nothing else runs in it, so the count is exact.
    expect(lab.server.lab.size).toBe(before);
  });

  it('the right code, however it is typed, gets a sandbox; the session comes back later without it', async () => {
    const learner = await attempt({ classCode: ' OTTER 42 ' });
    expect(learner).toBeInstanceOf(LabClient);
    const { term } = await openShell(learner as LabClient, 'uts');
    expect(await term.exec('echo in-class')).toMatch(/^in-class$/m);
    // A reload: the token, no code.
    const back = await lab.connect({ token: (learner as LabClient).session!.token });
    expect(back.session!.isNew).toBe(false);
  });

  it('wrong codes from one address are throttled like wrong instructor tokens', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 11; i++) outcomes.push(String(await attempt({ localAddress: '127.0.0.82', classCode: `guess-${i}` })).split(':')[0]);
    expect(outcomes).toEqual([...Array(10).fill('CLASS_CODE_REQUIRED'), 'TOO_MANY_ATTEMPTS']);
  });

  it('a class of 150 behind one address all get in although some mistype the code, and its typos do not lock the instructor out', async () => {
    const SCHOOL = '127.0.0.85';
    // Ten at a time, one in each ten mistyping the code first: 15 typos, more than a stranger's 10 tries.
    const joined: Array<LabClient | string> = [];
    for (let wave = 0; wave < 15; wave++) {
      expect(await attempt({ localAddress: SCHOOL, classCode: 'otter-24' })).toMatch(/^CLASS_CODE_REQUIRED: That class code is not right/);
      joined.push(...(await Promise.all(Array.from({ length: 10 }, () => attempt({ localAddress: SCHOOL, classCode: 'otter-42' })))));
    }
    expect(joined.map((outcome) => (outcome instanceof LabClient ? 'joined' : outcome))).toEqual(Array(150).fill('joined'));
    for (const learner of joined) (learner as LabClient).close();

    // Ten typos in a row from another school: the next try waits, right or wrong (a guess learns nothing)...
    for (let i = 0; i < 10; i++) await attempt({ localAddress: '127.0.0.86', classCode: `typo-${i}` });
    expect(await attempt({ localAddress: '127.0.0.86', classCode: 'otter-42' })).toMatch(/^TOO_MANY_ATTEMPTS: Too many wrong class codes came from your address\. Wait \d+ seconds/);
    // ... but its instructor, on the same network, still opens the dashboard.
    const instructor = await attempt({ localAddress: '127.0.0.86', instructorToken: INSTRUCTOR_TOKEN });
    expect(instructor).toBeInstanceOf(LabClient);
    (instructor as LabClient).close();
  });

  it('the instructor needs no code, changes it, sees who joined with the old one, and ends them', async () => {
    const instructor = await lab.connect({ instructorToken: INSTRUCTOR_TOKEN });
    const early = (await attempt({ classCode: 'otter-42', displayName: 'Early Bird' })) as LabClient;
    const earlyShell = await openShell(early, 'uts');

    expect(await instructor.request('class:set-code', { code: 'heron-7' })).toEqual({ code: 'HERON7' });
    expect(await attempt({ localAddress: '127.0.0.83', classCode: 'otter-42' })).toMatch(/^CLASS_CODE_REQUIRED/);
    const late = (await attempt({ localAddress: '127.0.0.83', classCode: 'heron-7', displayName: 'Late Comer' })) as LabClient;

    const state = await classState(instructor, (s) => s.learners.some((l) => l.displayName === 'Late Comer'));
    expect(state.classCode).toMatchObject({ code: 'HERON7' });
    expect(state.learners.find((l) => l.displayName === 'Early Bird')?.oldCode).toBe(true);
    expect(state.learners.find((l) => l.displayName === 'Late Comer')?.oldCode).toBe(false);
    // The early learner is still in, until the instructor says otherwise.
    expect(await earlyShell.term.exec('echo still-in')).toMatch(/^still-in$/m);

    const { ended } = await instructor.request('class:end-old-code', {});
    expect(ended).toBeGreaterThanOrEqual(1);
    await expect.poll(() => early.socket.connected).toBe(false);
    expect(sandboxById(lab.server, earlyShell.sandbox.sandboxId)).toBeUndefined();
    // Its token is forgotten: coming back needs the current code.
    expect(await attempt({ token: early.session!.token })).toMatch(/^CLASS_CODE_REQUIRED/);
    expect(late.socket.connected).toBe(true);

    // Without a code, anyone may join again.
    expect(await instructor.request('class:set-code', { code: null })).toEqual({ code: null });
    expect(await attempt({ localAddress: '127.0.0.84' })).toBeInstanceOf(LabClient);
  });
});
