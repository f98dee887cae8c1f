/**
 * Progress that can be trusted: lab-server runs a step's check itself (the lesson's own
 * command, found by lesson and step) and records the pass only when it saw the check pass. A
 * page can ask for a check, never say that one passed, and never send the command to run.
 *
 * A learner can get a short resume code and continue in another browser; the instructor can
 * export every pass and clear the class; a learner can clear their own record.
 */
import { z } from 'zod';
import { CheckResult, SandboxId, SessionToken } from './common';
import { LessonSlug, StepId } from './classroom-events';
import type { RequestCatalog } from './catalog';

/**
 * A resume code as shown: 8 letters and digits in two groups ("K7QF-M2XD"), without the ones
 * that are easy to misread (0/O, 1/I/L, U). About 40 bits; wrong guesses share the per-address
 * throttle of the instructor token and the class code.
 */
export const RESUME_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
export const ResumeCode = z
  .string()
  .max(40)
  .transform((text) => text.toUpperCase().replace(/[\s-]/g, ''))
  .pipe(z.string().regex(new RegExp(`^[${RESUME_CODE_ALPHABET}]{8}$`), 'a resume code is 8 letters and digits, like K7QF-M2XD'));

export const StepPass = z.object({
  lessonSlug: z.string(),
  stepId: z.string(),
  /** Milliseconds since the epoch, when lab-server saw the check pass. */
  passedAt: z.number(),
});
export type StepPass = z.infer<typeof StepPass>;

export const LearnerProgress = z.object({
  displayName: z.string(),
  passes: z.array(StepPass),
});
export type LearnerProgress = z.infer<typeof LearnerProgress>;

/** One row of the instructor's export. */
export const ClassPass = StepPass.extend({ sessionId: z.string(), displayName: z.string() });
export type ClassPass = z.infer<typeof ClassPass>;

/** The most passes one export returns (a class of 500 through a whole 13-lesson course is ~40,000). */
export const MAX_EXPORTED_PASSES = 200_000;

const noCommand = {
  error: (issue: { code?: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys'
      ? `a check runs the lesson's own command, found by lesson and step; ${issue.keys?.join(', ')} cannot be sent`
      : undefined,
};

export const progressRequests = {
  /**
   * Runs the step's check in one of the learner's sandboxes. `passed` is true, and the pass is
   * recorded, only when the check exited 0 in time.
   */
  'progress:check': {
    payload: z.strictObject({ sandboxId: SandboxId, lessonSlug: LessonSlug, stepId: StepId }, noCommand),
    result: CheckResult.extend({ passed: z.boolean(), passedAt: z.number().nullable() }),
  },
  /** The caller's recorded passes. */
  'progress:get': { payload: z.strictObject({}), result: LearnerProgress },
  /** The caller's resume code (made on first request, then the same one). */
  'progress:resume-code': { payload: z.strictObject({}), result: z.strictObject({ code: z.string() }) },
  /**
   * Continue as the learner a resume code belongs to: returns a session token for that learner.
   * The page keeps it and reconnects with it; the connection that asked stays what it was.
   */
  'progress:resume': {
    payload: z.strictObject({ code: ResumeCode }),
    result: z.strictObject({ token: SessionToken, displayName: z.string(), passes: z.array(StepPass) }),
  },
  /** Deletes the caller's name, passes and resume code from the lab. */
  'progress:forget-me': { payload: z.strictObject({}), result: z.strictObject({ passes: z.number() }) },

  /** Every recorded pass, oldest first, for the CSV export and the passes-over-time charts. */
  'progress:passes': { payload: z.strictObject({}), result: z.array(ClassPass), role: 'instructor' },
  /** Deletes every learner's record (names, passes, resume codes). Sandboxes are not touched. */
  'progress:clear-class': { payload: z.strictObject({}), result: z.strictObject({ learners: z.number(), passes: z.number() }), role: 'instructor' },
} as const satisfies RequestCatalog;

export const progressServerEvents = {
  /** To every connection of a learner: their recorded passes changed (a pass, a reset). */
  'progress:updated': LearnerProgress,
} as const;
