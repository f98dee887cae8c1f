/**
 * Coded errors, in the style of fastify's createError: a stable code for the operator's logs and
 * a sentence for the learner. Anything thrown that is not a LabError is a bug, reported as
 * INTERNAL without its details.
 */
import type { ErrorCode, LabErrorPayload } from '../../protocol';

export class LabError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Details for the log only, never sent to the browser. */
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'LabError';
  }

  toPayload(event?: string): LabErrorPayload {
    return { code: this.code, message: this.message, ...(event ? { event } : {}) };
  }
}

export function toLabError(error: unknown): LabError {
  if (error instanceof LabError) return error;
  return new LabError('INTERNAL', 'Something went wrong in the lab server. Try again; if it keeps happening, tell the instructor.', error);
}
