/**
 * The classroom's rules without root: a stand-in lab whose terminals are real LabTerminals on
 * fake ptys (runtime/fake-pty.ts). The real-sandbox classroom tests are lab-server/test/classroom.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Role } from '../../../protocol';
import type { CgroupHost } from '../cgroups/host';
import { silentLogger } from '../log';
import { FakePty } from '../runtime/fake-pty';
import type { Lab } from '../sandbox/lab';
import type { Sandbox } from '../sandbox/sandbox';
import { LabTerminal, type TerminalViewer } from '../sandbox/terminal';
import { MemorySessionStore } from '../session/session-store';
import { ConnectionScope } from '../transport/connection-scope';
import { classroomHandlers } from '../transport/classroom-handlers';
import type { LabSocket } from '../transport/handler-types';
import { ClassCode } from './class-code';
import { Classroom } from './classroom';
import { MemoryClassRoster } from './roster';

/** A running sandbox of `sessionId` with one terminal on a fake pty. */
function fakeSandbox(id: string, sessionId: string) {
  const pty = new FakePty();
  const terminal = new LabTerminal(`term-${id.slice(4)}`, 'run', pty, { cols: 80, rows: 24 });
  const sandbox = {
    id,
    ownerSessionId: sessionId,
    state: 'running',
    lastActivityAt: Date.now(),
    terminal: (terminalId: string) => (terminalId === terminal.id ? terminal : undefined),
    info: () => ({ terminals: [{ terminalId: terminal.id, kind: 'run', cols: 80, rows: 24, exited: false }] }),
  } as unknown as Sandbox;
  return { sandbox, terminal, pty };
}

/** The lab as the classroom uses it. */
function fakeLab(sandboxes: Sandbox[]) {
  const closed: string[] = [];
  const lab = {
    acceptingNew: true,
    size: sandboxes.length,
    maxSandboxes: 10,
    onSandboxClosed: () => () => undefined,
    onPoolChanged: () => () => undefined,
    warmPool: () => ({ ready: 0, starting: 0, target: 0, reserved: 0 }),
    claimsSettled: async () => undefined,
    all: () => sandboxes,
    forSession: (sessionId: string) => sandboxes.filter((sandbox) => sandbox.ownerSessionId === sessionId),
    close: async (sandbox: Sandbox) => void closed.push(sandbox.id),
  } as unknown as Lab;
  return { lab, closed };
}

function viewer(id: string) {
  const received: string[] = [];
  const view: TerminalViewer = { id, governsFlow: false, sendOutput: (data) => received.push(data), sendExit: () => undefined, sendResize: () => undefined };
  return { view, text: () => received.join('') };
}

const made: Array<{ classroom: Classroom; terminals: LabTerminal[] }> = [];
function classroomWith(...sandboxes: Array<ReturnType<typeof fakeSandbox>>) {
  const { lab, closed } = fakeLab(sandboxes.map((s) => s.sandbox));
  const told: Array<[string, string, boolean]> = [];
  const cut: string[] = [];
  const admission = { classCode: new ClassCode(undefined), sessions: new MemorySessionStore() };
  const classroom = new Classroom(lab, new MemoryClassRoster(), {} as CgroupHost, silentLogger, admission);
  classroom.attach({
    toLearners: (event, { active }) => void told.push(['learners', event, active]),
    toSession: (sessionId, event, { active }) => void told.push([sessionId, event, active]),
    disconnectSession: (sessionId) => void cut.push(sessionId),
  });
  made.push({ classroom, terminals: sandboxes.map((s) => s.terminal) });
  return { classroom, told, closed, cut, admission };
}
afterEach(() => {
  for (const { classroom, terminals } of made.splice(0)) {
    classroom.dispose();
    for (const terminal of terminals) terminal.dispose();
  }
});

describe('Classroom (fake lab, no root)', { timeout: 60_000 }, () => {
  it('a follower gets the broadcast screen, then its output, and nothing once the broadcast stops', async () => {
    const demo = fakeSandbox('sbx-instruct', 'ses-instructor');
    const { classroom, told } = classroomWith(demo);
    classroom.connected('ses-instructor', 'Instructor', 'instructor');
    demo.pty.output('before-42\r\n');
    classroom.startBroadcast('ses-instructor', demo.terminal);
    expect(told).toEqual([['learners', 'class:broadcast-status', true]]);

    const follower = viewer('learner-socket');
    const { terminal, mirror } = await classroom.follow('learner-socket', 'ses-learner', () => follower.view);
    expect(terminal).toBe(demo.terminal);
    expect(mirror).toMatchObject({ terminalId: demo.terminal.id, cols: 80, rows: 24 });
    expect(mirror.snapshot).toContain('before-42');
    demo.pty.output('live-42\r\n');
    await expect.poll(() => follower.text(), { timeout: 30_000 }).toContain('live-42');
    expect(classroom.state().learners).toEqual([]);

    classroom.stopBroadcast();
    expect(told.at(-1)).toEqual(['learners', 'class:broadcast-status', false]);
    // The instructor's own view still gets output; the follower no longer does.
    const owner = viewer('instructor-socket');
    await demo.terminal.attach(owner.view);
    demo.pty.output('after-stop\r\n');
    await expect.poll(() => owner.text(), { timeout: 30_000 }).toContain('after-stop');
    expect(follower.text()).not.toContain('after-stop');
  });

  it('tells a learner while they are spotlighted, again on a reconnect, and when it ends with the instructor’s connection', async () => {
    const learner = fakeSandbox('sbx-learner1', 'ses-learner');
    const { classroom, told } = classroomWith(learner);
    classroom.connected('ses-learner', 'Ada', 'learner');
    learner.pty.output('spot-25\r\n');

    const { mirror } = await classroom.spotlight('instructor-socket', 'ses-learner', () => viewer('instructor-socket').view);
    expect(mirror).toMatchObject({ sandboxId: 'sbx-learner1', terminalId: learner.terminal.id });
    expect(mirror.snapshot).toContain('spot-25');
    expect(told).toEqual([['ses-learner', 'class:spotlighted', true]]);
    // A reloaded page is told at once.
    expect(classroom.connected('ses-learner', 'Ada', 'learner').spotlighted).toBe(true);
    expect(classroom.state().learners[0]).toMatchObject({ displayName: 'Ada', spotlighted: true, connected: true });

    classroom.disconnected('ses-instructor', 'instructor', 'instructor-socket');
    expect(told.at(-1)).toEqual(['ses-learner', 'class:spotlighted', false]);
    expect(learner.terminal.viewerCount).toBe(0);
    expect(classroom.connected('ses-learner', 'Ada', 'learner').spotlighted).toBe(false);
  });

  it('an instructor whose connection goes while a spotlight or a follow is starting leaves neither behind', async () => {
    const learner = fakeSandbox('sbx-learner1', 'ses-learner');
    const demo = fakeSandbox('sbx-instruct', 'ses-instructor');
    const { classroom, told } = classroomWith(learner, demo);
    classroom.connected('ses-learner', 'Ada', 'learner');
    classroom.startBroadcast('ses-instructor', demo.terminal);
    const { lab } = fakeLab([learner.sandbox, demo.sandbox]);
    const handlers = classroomHandlers(lab, classroom);
    /** A connection as the socket server makes it; `go()` is its disconnect. */
    const connection = (id: string, sessionId: string, role: Role) => {
      const socket = { id, data: { session: { id: sessionId, displayName: id }, role, scope: new ConnectionScope(id) }, emit: () => true } as unknown as LabSocket;
      handlers.onConnect!(socket);
      return { socket, go: () => socket.data.scope.dispose() };
    };

    const instructor = connection('instructor-socket', 'ses-instructor', 'instructor');
    const spotlight = handlers.requests['class:spotlight']!(instructor.socket, { sessionId: 'ses-learner' });
    instructor.go(); // the screen is still being read
    await spotlight;
    expect(learner.terminal.viewerCount).toBe(0);
    expect(told.at(-1)).toEqual(['ses-learner', 'class:spotlighted', false]); // the badge went
    expect(classroom.state().learners[0]).toMatchObject({ spotlighted: false });

    const follower = connection('learner-socket', 'ses-learner', 'learner');
    const follow = handlers.requests['class:follow']!(follower.socket, {});
    follower.go();
    await follow;
    expect(demo.terminal.viewerCount).toBe(0);
    expect(classroom.state().learners[0]).toMatchObject({ following: false });
  });

  it('End all ends learners’ sandboxes and leaves the instructor’s demo running', async () => {
    const demo = fakeSandbox('sbx-instruct', 'ses-instructor');
    const learner = fakeSandbox('sbx-learner1', 'ses-learner');
    const { classroom, closed } = classroomWith(demo, learner);
    classroom.connected('ses-instructor', 'Instructor', 'instructor');
    classroom.connected('ses-learner', 'Ada', 'learner');
    await expect(classroom.endAll()).resolves.toBe(1);
    expect(closed).toEqual(['sbx-learner1']);
  });

  it('ending old-code sessions closes their sandboxes, cuts them off and forgets their tokens; a learner who joined with the current code stays', async () => {
    const { classroom, closed, cut, admission } = classroomWith();
    const early = admission.sessions.issue('Early');
    admission.classCode.admitted(early.session);
    await classroom.setCode('abc-123');
    const onTime = admission.sessions.issue('On time');
    admission.classCode.admitted(onTime.session);
    classroom.connected(early.session.id, 'Early', 'learner');
    classroom.connected(onTime.session.id, 'On time', 'learner');
    expect(classroom.state().classCode).toEqual({ code: 'ABC123', oldSessions: 1 });

    await expect(classroom.endOldCode()).resolves.toBe(1);
    expect(cut).toEqual([early.session.id]);
    expect(closed).toEqual([]);
    expect(admission.sessions.find(early.token)).toBeUndefined();
    expect(admission.sessions.find(onTime.token)).toBe(onTime.session);
    expect(classroom.state().learners.map((learner) => learner.displayName)).toEqual(['On time']);
  });
});
