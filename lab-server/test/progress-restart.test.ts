/**
 * The class record outlives lab-server: a pass recorded before a kill -9 is there after the
 * restart, for the learner (same token, same session) and on the dashboard. A damaged record
 * stops the start with a sentence for the operator, not a stack trace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLessons } from '../../lib/lessons/load-lessons';
import { labChildEnv, removeLabChildFootprint, startLabChild } from './support/lab-child';
import { checkOutput, openShell } from './support/shell';

const INSTRUCTOR_TOKEN = 'test-instructor-token-0123456789abcdef';
const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('lab-server killed with -9 after a pass', () => {
  it('the pass is still there after the restart, for the learner and on the dashboard', async () => {
    const lesson = loadLessons().find((candidate) => candidate.steps.some((s) => s.check?.command.includes('/run/uts-keep')))!;
    const step = lesson.steps.find((s) => s.check?.command.includes('/run/uts-keep'))!;
    const env = await labChildEnv({ ISOLAB_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN });
    cleanups.push(() => removeLabChildFootprint(env));

    const first = await startLabChild(env);
    cleanups.push(() => first.stop());
    const learner = await first.connect({ displayName: 'Ada' });
    const { sandbox } = await openShell(learner, lesson.slug);
    await checkOutput(learner, sandbox.sandboxId, 'touch /run/uts-keep && unshare --uts=/run/uts-keep hostname kept-alive');
    const check = await learner.request('progress:check', { sandboxId: sandbox.sandboxId, lessonSlug: lesson.slug, stepId: step.id });
    expect(check.passed).toBe(true);
    const { token, sessionId } = learner.session!;

    first.process.kill('SIGKILL');
    await first.exited();
    learner.close();

    const second = await startLabChild(env);
    cleanups.push(() => second.stop());
    const back = await second.connect({ token });
    expect(back.session).toMatchObject({ sessionId, displayName: 'Ada', isNew: false });
    expect((await back.request('progress:get', {})).passes).toEqual([{ lessonSlug: lesson.slug, stepId: step.id, passedAt: check.passedAt }]);

    const instructor = await second.connect({ instructorToken: INSTRUCTOR_TOKEN });
    const state = await instructor.request('class:watch', {});
    expect(state.learners.find((l) => l.sessionId === sessionId)).toMatchObject({ displayName: 'Ada', passed: { [lesson.slug]: [step.id] } });
    expect(state.stepPasses[lesson.slug][step.id]).toBe(1);
    back.close();
    instructor.close();
    await second.stop();
  }, 120_000);
});

describe('a damaged class record', () => {
  it('stops the start with what to do, exit code 1, and no stack trace', async () => {
    const env = await labChildEnv();
    cleanups.push(() => removeLabChildFootprint(env));
    mkdirSync(dirname(env.ISOLAB_PROGRESS_DB), { recursive: true });
    writeFileSync(env.ISOLAB_PROGRESS_DB, Buffer.alloc(16384, 0x5a));
    const child = await startLabChild(env, { waitReady: false });
    expect(await child.exited()).toBe(1);
    expect(child.output()).toContain('lab-server cannot start');
    expect(child.output()).toContain(`mv ${env.ISOLAB_PROGRESS_DB} ${env.ISOLAB_PROGRESS_DB}.damaged`);
    expect(child.output()).toContain('[PROGRESS_DB_CORRUPT]');
    expect(child.output()).not.toMatch(/\n\s+at /);
  }, 60_000);
});
