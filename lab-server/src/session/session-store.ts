/**
 * Learner sessions. A session is a bearer token the browser keeps; its sandboxes belong to it.
 *
 * The store is an interface so that several lab-server nodes can later share one (Redis). The
 * in-memory store is the whole implementation on one machine.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Session {
  /** Public id, safe to show to an instructor or put in logs. */
  readonly id: string;
  displayName: string;
  readonly createdAt: number;
  lastSeenAt: number;
  /** Open connections; a connected session is never forgotten. */
  connections: number;
  /** The class code generation it joined under (see classroom/class-code.ts). */
  classCodeGeneration?: number;
}

export interface SessionStore {
  /** Makes a new session and returns it with its secret token. */
  issue(displayName?: string): { session: Session; token: string };
  /** The session a token belongs to, if the token is known. */
  find(token: string): Session | undefined;
  byId(sessionId: string): Session | undefined;
  /** Forgets a session at once: its token no longer works. */
  forget(sessionId: string): void;
  /** Forgets sessions without connections unseen for `maxIdleMs`, unless in use; returns how many were dropped. */
  sweep(maxIdleMs: number, isInUse: (session: Session) => boolean): number;
}

const ADJECTIVES = ['brave', 'calm', 'clever', 'curious', 'eager', 'gentle', 'keen', 'lucky', 'nimble', 'quiet', 'rapid', 'sunny', 'swift', 'tidy', 'witty', 'bold'];
const ANIMALS = ['otter', 'falcon', 'lynx', 'panda', 'heron', 'koala', 'badger', 'gecko', 'marmot', 'puffin', 'walrus', 'ibex', 'tapir', 'wombat', 'yak', 'zebra'];

/** A friendly name for a learner who did not pick one, like "swift-otter". */
export function generateDisplayName(): string {
  const [a, b] = randomBytes(2);
  return `${ADJECTIVES[a % ADJECTIVES.length]}-${ANIMALS[b % ANIMALS.length]}`;
}

export class MemorySessionStore implements SessionStore {
  /** Keyed by a hash of the token, so a heap dump or a log line never holds a usable token. */
  private readonly byTokenHash = new Map<string, Session>();
  private readonly sessionsById = new Map<string, Session>();

  issue(displayName?: string): { session: Session; token: string } {
    const now = Date.now();
    return this.withToken({ id: `ses-${randomBytes(6).toString('hex')}`, displayName: displayName ?? generateDisplayName(), createdAt: now }, newToken());
  }

  /**
   * Binds `token` to the session `known` describes: the live one with its id, or a new live
   * session with its id and name (a learner the class record knows, back after a restart).
   */
  withToken(known: Pick<Session, 'id' | 'displayName' | 'createdAt'>, token: string): { session: Session; token: string } {
    let session = this.sessionsById.get(known.id);
    if (!session) {
      session = { id: known.id, displayName: known.displayName, createdAt: known.createdAt, lastSeenAt: Date.now(), connections: 0 };
      this.sessionsById.set(session.id, session);
    }
    this.byTokenHash.set(hashToken(token), session);
    return { session, token };
  }

  find(token: string): Session | undefined {
    const session = this.byTokenHash.get(hashToken(token));
    if (session) session.lastSeenAt = Date.now();
    return session;
  }

  byId(sessionId: string): Session | undefined {
    return this.sessionsById.get(sessionId);
  }

  forget(sessionId: string): void {
    for (const [hash, session] of this.byTokenHash) if (session.id === sessionId) this.byTokenHash.delete(hash);
    this.sessionsById.delete(sessionId);
  }

  sweep(maxIdleMs: number, isInUse: (session: Session) => boolean): number {
    const cutoff = Date.now() - maxIdleMs;
    let dropped = 0;
    for (const [hash, session] of this.byTokenHash) {
      if (session.connections === 0 && session.lastSeenAt < cutoff && !isInUse(session)) {
        this.byTokenHash.delete(hash);
        this.sessionsById.delete(session.id);
        dropped++;
      }
    }
    return dropped;
  }
}

/** A new session token: 32 random bytes, base64url (the protocol's SessionToken). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What is kept of a token: never the token itself, so a heap dump or a database file holds none. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
