/**
 * The class code keeps a lab to one class: when it is set, a new learner session needs it in the
 * handshake (the learner enters it once on /join, or opens a link that carries it). Sessions
 * already in stay in when it changes; each remembers the code generation it joined under, so the
 * instructor can see and end the ones that joined with an old code (or before there was one).
 */
import { sameSecret } from '../secrets';
import type { Session } from '../session/session-store';

/** "abc-123", "ABC 123" and "abc123" are the same code. */
export function normalizeClassCode(code: string): string {
  return code.normalize('NFKC').toUpperCase().replace(/[^A-Z0-9]/g, '');
}

export class ClassCode {
  private code: string | undefined;
  /** Bumped by every change, so sessions that joined before it can be told apart. */
  private generation = 0;

  constructor(initial: string | undefined) {
    this.code = initial ? normalizeClassCode(initial) : undefined;
  }

  /** The code as learners enter it, or null when the lab needs none. */
  get current(): string | null {
    return this.code ?? null;
  }

  set(code: string | null): string | null {
    this.code = code ? normalizeClassCode(code) : undefined;
    this.generation++;
    return this.current;
  }

  matches(given: string): boolean {
    return this.code !== undefined && sameSecret(normalizeClassCode(given), this.code);
  }

  /** Marks a new session as joined under the current code. */
  admitted(session: Session): void {
    session.classCodeGeneration = this.generation;
  }

  /** While a code is set: whether the session joined with an earlier one, or before there was one. */
  isOld(session: Session | undefined): boolean {
    return this.code !== undefined && session !== undefined && session.classCodeGeneration !== this.generation;
  }
}
