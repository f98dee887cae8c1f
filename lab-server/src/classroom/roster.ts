/**
 * The class roster: who is in the class, where each learner is, and what they passed.
 *
 * An interface, so that several lab-server nodes can later share one roster in Redis; the
 * in-memory roster is the whole implementation on one machine.
 */
export interface LearnerRecord {
  sessionId: string;
  displayName: string;
  /** Open connections of this learner (tabs). */
  connections: number;
  lessonSlug: string | null;
  stepId: string | null;
  passed: Record<string, string[]>;
  lastActivityAt: number;
  /** When the learner was last connected; disconnected learners drop off after a while. */
  lastSeenAt: number;
  /** The class record (progress/) knows this learner: listed until the record is cleared. */
  kept?: boolean;
}

export interface ClassRoster {
  /** The learner's record, made on first sight. */
  ensure(sessionId: string, displayName: string): LearnerRecord;
  get(sessionId: string): LearnerRecord | undefined;
  all(): LearnerRecord[];
  update(sessionId: string, change: Partial<Omit<LearnerRecord, 'sessionId'>>): void;
  remove(sessionId: string): void;
  /** Forgets learners gone for longer than `maxAbsentMs`, except those the class record keeps. */
  sweep(maxAbsentMs: number): void;
}

export class MemoryClassRoster implements ClassRoster {
  private readonly learners = new Map<string, LearnerRecord>();

  ensure(sessionId: string, displayName: string): LearnerRecord {
    let learner = this.learners.get(sessionId);
    if (!learner) {
      const now = Date.now();
      learner = { sessionId, displayName, connections: 0, lessonSlug: null, stepId: null, passed: {}, lastActivityAt: now, lastSeenAt: now };
      this.learners.set(sessionId, learner);
    }
    return learner;
  }

  get(sessionId: string): LearnerRecord | undefined {
    return this.learners.get(sessionId);
  }

  all(): LearnerRecord[] {
    return [...this.learners.values()];
  }

  update(sessionId: string, change: Partial<Omit<LearnerRecord, 'sessionId'>>): void {
    const learner = this.learners.get(sessionId);
    if (learner) Object.assign(learner, change);
  }

  remove(sessionId: string): void {
    this.learners.delete(sessionId);
  }

  sweep(maxAbsentMs: number): void {
    const cutoff = Date.now() - maxAbsentMs;
    for (const [id, learner] of this.learners) if (learner.connections === 0 && learner.lastSeenAt < cutoff && !learner.kept) this.learners.delete(id);
  }
}
