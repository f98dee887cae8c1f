/**
 * Verified progress: lab-server runs a step's check (the lesson's command, from the Course) in
 * the learner's own sandbox and records a pass only when it saw the check exit 0 in time. The
 * record (progress-db.ts) is written through on every pass and read once at startup; the
 * dashboard and the learner are served from memory (the classroom's roster).
 *
 * A learner is written down the first time they have something to keep (a pass, a resume
 * code); until then nothing of them is stored.
 */
import { randomInt } from 'node:crypto';
import { MAX_EXPORTED_PASSES, RESUME_CODE_ALPHABET, type CheckResult, type ClassPass, type LearnerProgress, type StepPass } from '../../../protocol';
import type { Classroom } from '../classroom/classroom';
import type { Logger } from '../log';
import type { Sandbox } from '../sandbox/sandbox';
import { hashToken, type Session } from '../session/session-store';
import type { Course } from './course';
import type { ProgressDb, StoredPass } from './progress-db';
import type { RecordedSessionStore } from './recorded-sessions';

/**
 * Several lab nodes: the passes every node has recorded, kept where any node can read them
 * (cluster/cluster.ts), so a learner whose node stopped keeps their record on the node that
 * takes them in.
 */
export interface SharedPasses {
  recorded(sessionId: string, pass: StepPass): void;
  /** A learner cleared their record: the running nodes that kept passes of theirs forget them too. */
  forgotten(sessionId: string): Promise<void>;
  /** The passes in the other nodes' class records, for the instructor's export. */
  ofOtherNodes(): Promise<ClassPass[]>;
  /** Clears the other nodes' class records, and the passes shared between nodes. */
  clearOtherNodes(): Promise<{ learners: number; passes: number }>;
}

/** How ClassProgress tells a learner's connections that their record changed. */
export type ProgressOutbox = (sessionId: string, progress: LearnerProgress) => void;

export class ClassProgress {
  private outbox: ProgressOutbox = () => undefined;

  constructor(
    private readonly db: ProgressDb,
    private readonly course: Course,
    private readonly sessions: RecordedSessionStore,
    private readonly classroom: Classroom,
    private readonly options: { checkTimeoutMs: number; logger: Logger; shared?: SharedPasses },
  ) {
    // The dashboard lists everyone the record knows, as it did before the restart.
    const passes = groupByLearner(db.allPasses(Number.MAX_SAFE_INTEGER));
    for (const learner of db.allLearners()) {
      const own = passes.get(learner.id) ?? [];
      classroom.recorded(learner.id, learner.displayName, passedByLesson(own), Math.max(learner.createdAt, ...own.map((p) => p.passedAt)));
    }
  }

  attach(outbox: ProgressOutbox): void {
    this.outbox = outbox;
  }

  /**
   * Runs the step's check in the sandbox and records a pass. The instructor's checks are run but
   * never recorded: the instructor is not in the class record.
   */
  async check(session: Session, token: string, instructor: boolean, sandbox: Sandbox, lessonSlug: string, stepId: string): Promise<CheckResult & { passed: boolean; passedAt: number | null }> {
    const check = this.course.check(lessonSlug, stepId);
    const result = await sandbox.runCheck(check.command, check.timeoutMs ?? this.options.checkTimeoutMs);
    const passed = result.exitCode === 0 && !result.timedOut;
    if (!passed || instructor) return { ...result, passed, passedAt: null };
    this.remember(session, token);
    const passedAt = this.db.recordPass(session.id, lessonSlug, stepId, Date.now());
    this.options.shared?.recorded(session.id, { lessonSlug, stepId, passedAt });
    this.changed(session.id);
    return { ...result, passed, passedAt };
  }

  /** Several nodes: this node takes in a learner whose node stopped, with the passes recorded there. */
  takeIn(session: Session, token: string, passes: StepPass[]): void {
    if (passes.length === 0) return;
    this.remember(session, token);
    for (const pass of passes) this.db.recordPass(session.id, pass.lessonSlug, pass.stepId, pass.passedAt);
    this.changed(session.id);
  }

  of(session: Session): LearnerProgress {
    return { displayName: session.displayName, passes: this.db.passesOf(session.id).map(({ lessonSlug, stepId, passedAt }) => ({ lessonSlug, stepId, passedAt })) };
  }

  resumeCode(session: Session, token: string): string {
    this.remember(session, token);
    return formatResumeCode(this.db.resumeCode(session.id, makeResumeCode));
  }

  /** A token for the learner whose code this is, or undefined when no learner has it. */
  resume(code: string): { token: string; displayName: string; passes: StepPass[] } | undefined {
    const learner = this.db.learnerByResumeCode(code);
    if (!learner) return undefined;
    const { session, token } = this.sessions.issueFor(learner);
    return { token, ...this.of(session) };
  }

  /** A learner renamed themselves; the record follows if it knows them. */
  renamed(sessionId: string, displayName: string): void {
    this.db.rename(sessionId, displayName);
  }

  /** Deletes the learner's record, on every running node; they keep their live session and sandboxes. */
  async forget(session: Session): Promise<number> {
    const passes = this.db.forgetLearner(session.id);
    this.classroom.recorded(session.id, session.displayName, {}, Date.now(), false);
    this.outbox(session.id, this.of(session));
    this.options.logger.info('a learner cleared their record', { sessionId: session.id, passes });
    await this.options.shared?.forgotten(session.id);
    return passes;
  }

  /**
   * Several nodes: a learner cleared their record on another node. This node may still hold
   * passes of theirs (recorded here before this node stopped and they moved on); it forgets them.
   */
  forgetHere(sessionId: string): number {
    const passes = this.db.forgetLearner(sessionId);
    this.classroom.clearedRecords(sessionId);
    return passes;
  }

  /** Every pass, on every node, oldest first, with the learner's current name; a step two nodes recorded once. */
  async passes(): Promise<ClassPass[]> {
    const there = (await this.options.shared?.ofOtherNodes()) ?? [];
    if (there.length === 0) return this.passesHere();
    const first = new Map<string, ClassPass>();
    for (const pass of [...this.passesHere(), ...there]) {
      const key = `${pass.sessionId} ${pass.lessonSlug} ${pass.stepId}`;
      const seen = first.get(key);
      if (!seen || pass.passedAt < seen.passedAt) first.set(key, pass);
    }
    return [...first.values()].sort((a, b) => a.passedAt - b.passedAt).slice(0, MAX_EXPORTED_PASSES);
  }

  passesHere(): ClassPass[] {
    const names = new Map(this.db.allLearners().map((learner) => [learner.id, learner.displayName]));
    return this.db.allPasses(MAX_EXPORTED_PASSES).map((pass) => ({
      sessionId: pass.learnerId,
      displayName: names.get(pass.learnerId) ?? '',
      lessonSlug: pass.lessonSlug,
      stepId: pass.stepId,
      passedAt: pass.passedAt,
    }));
  }

  /** Deletes every learner's record, on every node (the instructor's "Clear class"). */
  async clear(): Promise<{ learners: number; passes: number }> {
    const here = this.clearHere();
    const there = (await this.options.shared?.clearOtherNodes()) ?? { learners: 0, passes: 0 };
    return { learners: here.learners + there.learners, passes: here.passes + there.passes };
  }

  clearHere(): { learners: number; passes: number } {
    const learners = this.db.allLearners();
    const cleared = this.db.clear();
    this.classroom.clearedRecords();
    for (const learner of learners) {
      const session = this.sessions.byId(learner.id);
      if (session) this.outbox(learner.id, this.of(session));
    }
    this.options.logger.info('the instructor cleared the class record', cleared);
    return cleared;
  }

  /** Writes the learner down (name and this token's hash), once they have something to keep. */
  private remember(session: Session, token: string): void {
    this.db.saveLearner({ id: session.id, displayName: session.displayName, createdAt: session.createdAt }, hashToken(token));
  }

  private changed(sessionId: string): void {
    const session = this.sessions.byId(sessionId);
    if (!session) return;
    const progress = this.of(session);
    this.classroom.recorded(sessionId, session.displayName, passedByLesson(progress.passes.map((p) => ({ ...p, learnerId: sessionId }))), Date.now());
    this.outbox(sessionId, progress);
  }
}

function groupByLearner(passes: StoredPass[]): Map<string, StoredPass[]> {
  const byLearner = new Map<string, StoredPass[]>();
  for (const pass of passes) {
    const list = byLearner.get(pass.learnerId) ?? [];
    list.push(pass);
    byLearner.set(pass.learnerId, list);
  }
  return byLearner;
}

function passedByLesson(passes: StoredPass[]): Record<string, string[]> {
  const passed: Record<string, string[]> = {};
  for (const pass of passes) (passed[pass.lessonSlug] ??= []).push(pass.stepId);
  return passed;
}

function makeResumeCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += RESUME_CODE_ALPHABET[randomInt(RESUME_CODE_ALPHABET.length)];
  return code;
}

/** "K7QFM2XD" → "K7QF-M2XD", as the learner reads it. */
export function formatResumeCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}
