/**
 * Verified progress: lab-server runs a step's check by lesson and step and records a pass only
 * when it saw the check pass. A page that claims a pass, or sends its own command as a check, is
 * refused and nothing is recorded. The learner reads their record, resumes it elsewhere with a
 * code, or clears it; the instructor sees it on the dashboard, exports it, and clears the class.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassState, LabErrorPayload } from '../../protocol';
import { LabClient } from '../../lib/lab-client';
import { loadLessons } from '../../lib/lessons/load-lessons';
import { checkOutput, openShell, type Shell } from './support/shell';
import { startTestLab, type TestLab } from './support/test-lab';

const INSTRUCTOR_TOKEN = 'test-instructor-token-0123456789abcdef';

/** A step whose check one command makes pass: lesson 3's "pin a UTS namespace on /run/uts-keep". */
function pinnedNamespaceStep() {
  for (const lesson of loadLessons()) {
    const step = lesson.steps.find((candidate) => candidate.check?.command.includes('/run/uts-keep'));
    if (step) return { lessonSlug: lesson.slug, stepId: step.id, makeItPass: 'touch /run/uts-keep && unshare --uts=/run/uts-keep hostname kept-alive' };
  }
  throw new Error('no lesson pins a UTS namespace on /run/uts-keep any more; pick another step for this test');
}

let lab: TestLab;
let instructor: LabClient;
beforeAll(async () => {
  lab = await startTestLab({ ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN });
  instructor = await lab.connect({ instructorToken: INSTRUCTOR_TOKEN });
});
afterAll(() => lab?.close());

const step = pinnedNamespaceStep();

async function learnerWithShell(name: string): Promise<{ client: LabClient; shell: Shell }> {
  const client = await lab.connect({ displayName: name });
  return { client, shell: await openShell(client, step.lessonSlug) };
}

const dashboard = () => instructor.request('class:watch', {});
const learnerOn = (state: ClassState, name: string) => state.learners.find((learner) => learner.displayName === name);
const nextError = (client: LabClient) => new Promise<LabErrorPayload>((resolve) => client.socket.once('lab:error', resolve));

describe('a pass counts only when lab-server saw the check pass', () => {
  it('a failing check records nothing; after the step is done, the pass is recorded and shown', async () => {
    const { client, shell } = await learnerWithShell('Ada');
    const updates: unknown[] = [];
    client.on('progress:updated', (progress) => updates.push(progress));

    const before = await client.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) });
    expect(before).toMatchObject({ passed: false, passedAt: null });
    expect(before.exitCode).not.toBe(0);
    expect((await client.request('progress:get', {})).passes).toEqual([]);

    await checkOutput(client, shell.sandbox.sandboxId, step.makeItPass);
    const after = await client.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) });
    expect(after).toMatchObject({ passed: true, exitCode: 0 });
    expect(after.passedAt).toEqual(expect.any(Number));

    const mine = await client.request('progress:get', {});
    expect(mine).toEqual({ displayName: 'Ada', passes: [{ lessonSlug: step.lessonSlug, stepId: step.stepId, passedAt: after.passedAt }] });
    await expect.poll(() => updates.length).toBeGreaterThanOrEqual(1);
    expect(learnerOn(await dashboard(), 'Ada')?.passed).toEqual({ [step.lessonSlug]: [step.stepId] });
    expect((await dashboard()).stepPasses[step.lessonSlug][step.stepId]).toBeGreaterThanOrEqual(1);
    client.close();
  });

  it('a forged "I passed" report is refused in a sentence, and the dashboard shows no pass', async () => {
    const client = await lab.connect({ displayName: 'Mallory' });
    const refused = nextError(client);
    const raw = client.socket as unknown as { emit(event: string, payload: unknown): void };
    raw.emit('class:progress', { lessonSlug: step.lessonSlug, stepId: null, passed: [step.stepId] });
    expect(await refused).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('only when the lab runs its check and sees it pass') });
    expect(learnerOn(await dashboard(), 'Mallory')?.passed).toEqual({});
    expect((await client.request('progress:get', {})).passes).toEqual([]);
    client.close();
  });

  it('a check that carries its own command is refused; a command of its own is never a check', async () => {
    const { client, shell } = await learnerWithShell('Eve');
    const sandboxId = shell.sandbox.sandboxId;
    await expect(client.request('progress:check', { sandboxId, ...pick(step), command: 'exit 0' } as never)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining("a check runs the lesson's own command"),
    });
    await expect(client.request('progress:check', { sandboxId, lessonSlug: step.lessonSlug, stepId: 'no-such-step' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('has no step "no-such-step"'),
    });
    await expect(client.request('progress:check', { sandboxId, lessonSlug: 'no-such-lesson', stepId: step.stepId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('There is no lesson "no-such-lesson"'),
    });
    // Running a command in one's own sandbox (as in the terminal) passes, and counts for nothing.
    expect((await client.request('check:run', { sandboxId, command: 'exit 0' })).exitCode).toBe(0);
    expect((await client.request('progress:get', {})).passes).toEqual([]);
    expect(learnerOn(await dashboard(), 'Eve')?.passed).toEqual({});
    client.close();
  });

  it("a check runs only in the learner's own sandbox", async () => {
    const { client: owner, shell } = await learnerWithShell('Owner');
    await checkOutput(owner, shell.sandbox.sandboxId, step.makeItPass);
    const other = await lab.connect({ displayName: 'Other' });
    await expect(other.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await other.request('progress:get', {})).passes).toEqual([]);
    owner.close();
    other.close();
  });
});

describe('resume code', () => {
  it('continues the same learner, with their passes, from another connection', async () => {
    const { client, shell } = await learnerWithShell('Grace');
    await checkOutput(client, shell.sandbox.sandboxId, step.makeItPass);
    await client.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) });
    const { code } = await client.request('progress:resume-code', {});
    expect(code).toMatch(/^[2-9A-Z]{4}-[2-9A-Z]{4}$/);
    expect((await client.request('progress:resume-code', {})).code).toBe(code);

    const elsewhere = await lab.connect();
    const resumed = await elsewhere.request('progress:resume', { code: code.toLowerCase().replace('-', ' ') });
    expect(resumed).toMatchObject({ displayName: 'Grace', passes: [{ lessonSlug: step.lessonSlug, stepId: step.stepId }] });
    const continued = await lab.connect({ token: resumed.token });
    expect(continued.session?.sessionId).toBe(client.session?.sessionId);
    expect((await continued.request('progress:get', {})).passes).toHaveLength(1);
    for (const c of [client, elsewhere, continued]) c.close();
  });

  it('a wrong code is refused in a sentence; a malformed one by its schema', async () => {
    const client = await lab.connect();
    await expect(client.request('progress:resume', { code: '2222-2222' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('No learner has that resume code') });
    await expect(client.request('progress:resume', { code: 'nope' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('8 letters and digits') });
    client.close();
  });
});

describe('clearing', () => {
  it('a learner clears their own record; the dashboard and their other tabs follow', async () => {
    const { client, shell } = await learnerWithShell('Hopper');
    await checkOutput(client, shell.sandbox.sandboxId, step.makeItPass);
    await client.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) });
    const { code } = await client.request('progress:resume-code', {});
    const otherTab = await lab.connect({ token: client.session!.token });
    const cleared = new Promise((resolve) => otherTab.on('progress:updated', (progress) => progress.passes.length === 0 && resolve(progress)));

    expect(await client.request('progress:forget-me', {})).toEqual({ passes: 1 });
    await cleared;
    expect((await client.request('progress:get', {})).passes).toEqual([]);
    expect(learnerOn(await dashboard(), 'Hopper')?.passed).toEqual({});
    await expect(client.request('progress:resume', { code })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    client.close();
    otherTab.close();
  });
});

// The instructor's export and "Clear class" act on everyone, so they come last.
describe('the instructor', () => {
  it('exports exactly the passes that happened, then clears the class', async () => {
    const { client, shell } = await learnerWithShell('Lovelace');
    await checkOutput(client, shell.sandbox.sandboxId, step.makeItPass);
    const check = await client.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) });
    // A second check of the same step is not a second pass.
    await client.request('progress:check', { sandboxId: shell.sandbox.sandboxId, ...pick(step) });

    const passes = await instructor.request('progress:passes', {});
    const learners = new Set(passes.map((pass) => pass.sessionId));
    expect(passes.filter((pass) => pass.displayName === 'Lovelace')).toEqual([
      { sessionId: client.session!.sessionId, displayName: 'Lovelace', lessonSlug: step.lessonSlug, stepId: step.stepId, passedAt: check.passedAt },
    ]);
    // Everyone in this file who passed (Ada, Grace, Lovelace; Hopper cleared theirs), once each.
    expect(passes.map((pass) => pass.displayName).sort()).toEqual(['Ada', 'Grace', 'Lovelace']);
    expect(learners.size).toBe(3);

    await expect(client.request('progress:passes', {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await instructor.request('progress:clear-class', {})).toEqual({ learners: 3, passes: 3 });
    expect(await instructor.request('progress:passes', {})).toEqual([]);
    expect((await client.request('progress:get', {})).passes).toEqual([]);
    expect(Object.values((await dashboard()).stepPasses).flatMap((steps) => Object.values(steps))).toEqual([]);
    client.close();
  });
});

function pick(s: { lessonSlug: string; stepId: string }) {
  return { lessonSlug: s.lessonSlug, stepId: s.stepId };
}
