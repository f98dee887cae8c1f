/**
 * Sessions that outlive lab-server: the live ones stay in memory (MemorySessionStore), and a
 * token the memory does not know is looked up in the class record, so a learner with recorded
 * progress comes back as themselves after a restart or a kill -9, or from another browser with
 * a resume code. Learners with nothing recorded are not written down at all.
 */
import type { ProgressDb, StoredLearner } from './progress-db';
import { hashToken, MemorySessionStore, newToken, type Session, type SessionStore } from '../session/session-store';

export class RecordedSessionStore implements SessionStore {
  private readonly memory = new MemorySessionStore();

  constructor(
    private readonly db: ProgressDb,
    /** Called for a session brought back from the record (the class code marks it admitted). */
    private readonly onRestored: (session: Session) => void = () => undefined,
  ) {}

  issue(displayName?: string): { session: Session; token: string } {
    return this.memory.issue(displayName);
  }

  find(token: string): Session | undefined {
    const live = this.memory.find(token);
    if (live) return live;
    const recorded = this.db.learnerByToken(hashToken(token));
    if (!recorded) return undefined;
    const { session } = this.memory.withToken(recorded, token);
    this.onRestored(session);
    return session;
  }

  byId(sessionId: string): Session | undefined {
    return this.memory.byId(sessionId);
  }

  /** Forgets the session's tokens, in memory and on disk: coming back needs a new session. */
  forget(sessionId: string): void {
    this.memory.forget(sessionId);
    this.db.forgetTokens(sessionId);
  }

  sweep(maxIdleMs: number, isInUse: (session: Session) => boolean): number {
    return this.memory.sweep(maxIdleMs, isInUse);
  }

  /**
   * Takes in a session another lab node issued (cluster/wiring.ts): the learner reached this
   * node with that node's token, and keeps their id and name here.
   */
  adopt(known: { id: string; displayName: string; createdAt: number }, token: string): Session {
    const { session } = this.memory.withToken(known, token);
    this.onRestored(session);
    return session;
  }

  /** A new token for a recorded learner (a resume code was redeemed), kept on disk too. */
  issueFor(learner: StoredLearner): { session: Session; token: string } {
    const issued = this.memory.withToken(learner, newToken());
    this.db.addToken(learner.id, hashToken(issued.token));
    this.onRestored(issued.session);
    return issued;
  }
}
