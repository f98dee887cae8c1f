import { describe, expect, it } from 'vitest';
import type { LearnerSummary } from '../../protocol';
import { classProgress } from './class-progress';
import type { OutlineLesson } from './course-outline';

const lessons: OutlineLesson[] = [
  { slug: 'uts', title: 'UTS', order: 8, steps: ['read', 'rename', 'join'].map((id) => ({ id, title: id })) },
  { slug: 'pid', title: 'PID', order: 5, steps: [{ id: 'ps', title: 'ps' }] },
  { slug: 'user', title: 'User', order: 9, steps: [{ id: 'map', title: 'map' }] },
];

function learner(name: string, change: Partial<LearnerSummary>): LearnerSummary {
  return {
    sessionId: `ses-${name}`,
    displayName: name,
    connected: true,
    lessonSlug: null,
    stepId: null,
    passed: {},
    lastActivityAt: 0,
    sandbox: null,
    spotlighted: false,
    following: false,
    ...change,
  };
}

describe('classProgress', () => {
  const learners = [
    learner('ada', { lessonSlug: 'uts', stepId: 'rename', passed: { uts: ['read'] } }),
    learner('bob', { lessonSlug: 'uts', stepId: 'rename', passed: { uts: ['read'] } }),
    learner('cy', { lessonSlug: 'uts', stepId: 'join', passed: { uts: ['read', 'rename'], pid: ['ps'] } }),
    learner('dee', { lessonSlug: 'uts', stepId: 'read', connected: false }),
  ];
  const stepPasses = { uts: { read: 3, rename: 1 }, pid: { ps: 1 } };
  const summary = classProgress({ learners, stepPasses }, lessons);

  it('lists the lessons the class is in or passed steps of, and skips the rest', () => {
    expect(summary.map((lesson) => lesson.slug)).toEqual(['uts', 'pid']);
  });

  it('counts passes per step and who is working on it, leaving out learners who left', () => {
    const uts = summary[0];
    expect(uts.learners).toBe(3);
    expect(uts.steps.map((step) => [step.id, step.passed, step.here])).toEqual([
      ['read', 3, []],
      ['rename', 1, ['ada', 'bob']],
      ['join', 0, ['cy']],
    ]);
  });

  it('marks the step where most of the class is working as the one they are stuck on', () => {
    expect(summary[0].stuckStepId).toBe('rename');
    // In a lesson where nobody works right now, nothing is stuck.
    expect(summary[1].stuckStepId).toBeUndefined();
  });
});
