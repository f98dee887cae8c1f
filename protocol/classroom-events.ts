/**
 * The classroom: learners report where they are, the instructor sees the class, broadcasts a
 * terminal, spotlights a learner's terminal, resets sandboxes and opens or closes the lab.
 *
 * A connection is an instructor's when its handshake carries the instructor token; requests
 * marked `role: 'instructor'` are refused to everyone else with FORBIDDEN.
 */
import { z } from 'zod';
import { ClassCodeText, Cols, DisplayName, Rows, SandboxId, TerminalId } from './common';
import type { RequestCatalog } from './catalog';

export const LessonSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a lesson slug like "uts"');
export const StepId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'expected a step id like "change-the-hostname"');
export const SessionId = z.string().regex(/^ses-[0-9a-f]{12}$/, 'expected a session id like ses-0123456789ab');

/** What the dashboard shows of one learner. */
export const LearnerSummary = z.object({
  sessionId: z.string(),
  displayName: z.string(),
  connected: z.boolean(),
  /** Where the learner is now. */
  lessonSlug: z.string().nullable(),
  stepId: z.string().nullable(),
  /** Steps passed, per lesson slug: only checks lab-server ran and saw pass (see progress-events.ts). */
  passed: z.record(z.string(), z.array(z.string())),
  /** Milliseconds since the epoch of the last keystroke, check or page change. */
  lastActivityAt: z.number(),
  /** A glance at the learner's sandboxes: the busiest one's memory and pids. */
  sandbox: z
    .object({
      sandboxId: z.string(),
      memoryBytes: z.number(),
      memoryLimitBytes: z.number().nullable(),
      pids: z.number(),
      pidsMax: z.number().nullable(),
    })
    .nullable(),
  /** Whether the instructor is viewing this learner's terminal right now. */
  spotlighted: z.boolean(),
  following: z.boolean(),
  /** Joined before the class code was set or last changed (the instructor may end such sessions). */
  oldCode: z.boolean().optional(),
  /** Several lab nodes: the node this learner's sandboxes live on. */
  node: z.string().optional(),
});
export type LearnerSummary = z.infer<typeof LearnerSummary>;

/** Sandboxes started ahead of learners (the warm pool), for "Get ready for N learners". */
export const WarmPoolState = z.object({
  ready: z.int().min(0),
  starting: z.int().min(0),
  /** How many the pool aims to keep ready now. */
  target: z.int().min(0),
  /** What the instructor asked to get ready for, less those already claimed; 0 when nothing is asked. */
  reserved: z.int().min(0),
});
export type WarmPoolState = z.infer<typeof WarmPoolState>;

export const ClassState = z.object({
  learners: z.array(LearnerSummary),
  /** Per lesson, per step: how many learners passed it. */
  stepPasses: z.record(z.string(), z.record(z.string(), z.number())),
  labOpen: z.boolean(),
  broadcast: z.object({ terminalId: TerminalId, cols: Cols, rows: Rows }).nullable(),
  sandboxes: z.object({ live: z.number(), max: z.number() }),
  warmPool: WarmPoolState,
  /** The code new learners need (null: none), and how many sessions joined without the current one. */
  classCode: z.object({ code: z.string().nullable(), oldSessions: z.number() }).optional(),
});
export type ClassState = z.infer<typeof ClassState>;

/** A read-only view of another session's terminal: the screen now, then live output. */
export const Mirror = z.object({ terminalId: TerminalId, cols: Cols, rows: Rows, snapshot: z.string() });
export type Mirror = z.infer<typeof Mirror>;

export const classroomRequests = {
  /** A learner picks the name the instructor sees. */
  'class:rename': { payload: z.strictObject({ displayName: DisplayName }), result: z.strictObject({ displayName: z.string() }) },
  /** Start following the instructor's broadcast terminal (read-only). */
  'class:follow': { payload: z.strictObject({}), result: Mirror },
  'class:unfollow': { payload: z.strictObject({}), result: z.strictObject({}) },

  /** The instructor starts receiving `class:state` (and gets one at once). */
  'class:watch': { payload: z.strictObject({}), result: ClassState, role: 'instructor' },
  /** Broadcast one of the instructor's own terminals to learners who follow; null stops it. */
  'class:broadcast': { payload: z.strictObject({ terminalId: TerminalId.nullable() }), result: z.strictObject({}), role: 'instructor' },
  /** View a learner's terminal read-only; the learner is told. */
  'class:spotlight': { payload: z.strictObject({ sessionId: SessionId }), result: Mirror.extend({ sandboxId: SandboxId }), role: 'instructor' },
  'class:spotlight-end': { payload: z.strictObject({}), result: z.strictObject({}), role: 'instructor' },
  /** End a learner's sandboxes (they can start fresh ones). */
  'class:reset-learner': { payload: z.strictObject({ sessionId: SessionId }), result: z.strictObject({ closed: z.number() }), role: 'instructor' },
  'class:end-all': { payload: z.strictObject({}), result: z.strictObject({ closed: z.number() }), role: 'instructor' },
  /** Start sandboxes ahead of a class: keep this many warm (within the limits) until learners claim them; 0 cancels. */
  'class:warm-up': { payload: z.strictObject({ learners: z.int().min(0).max(10_000) }), result: WarmPoolState, role: 'instructor' },
  'class:set-open': { payload: z.strictObject({ open: z.boolean() }), result: z.strictObject({ open: z.boolean() }), role: 'instructor' },
  /** Sets the code new learners must enter, or null for none. Learners already in stay in. */
  'class:set-code': { payload: z.strictObject({ code: ClassCodeText.nullable() }), result: z.strictObject({ code: z.string().nullable() }), role: 'instructor' },
  /** Ends every session that joined without the current code: sandboxes closed, connections cut, token forgotten. */
  'class:end-old-code': { payload: z.strictObject({}), result: z.strictObject({ ended: z.number() }), role: 'instructor' },
} as const satisfies RequestCatalog;

export const classroomMessages = {
  /**
   * Where a learner is: sent on page changes. It carries no progress: a pass counts only when
   * lab-server ran the step's check itself (`progress:check`), so a page cannot claim one.
   */
  'class:progress': z.strictObject(
    {
      lessonSlug: LessonSlug.nullable(),
      stepId: StepId.nullable(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `a page reports only where the learner is (${issue.keys.join(', ')} is not accepted): a step counts as passed only when the lab runs its check and sees it pass`
          : undefined,
    },
  ),
} as const;

export const classroomServerEvents = {
  /** To watching instructors, at most about once a second while something changes. */
  'class:state': ClassState,
  /** To every learner: whether there is a broadcast to follow. */
  'class:broadcast-status': z.object({ active: z.boolean() }),
  /** To a learner: the instructor started or stopped viewing their terminal. */
  'class:spotlighted': z.object({ active: z.boolean() }),
  /** To viewers of a terminal they do not own: its owner resized it. */
  'terminal:resized': z.object({ terminalId: TerminalId, cols: Cols, rows: Rows }),
} as const;
