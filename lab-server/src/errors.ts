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

/**
 * What a failed sandbox start really ran out of, in words for the learner: pseudo-terminals
 * (HOST_BUDGET) or disk (DISK_FULL). Both reach lab-server as ENOSPC ("no space left on device"),
 * so runc's own words decide: it names /dev/ptmx when the kernel had no pty left to give.
 */
export function startFailure(error: unknown): LabError | undefined {
  const runcOutput = error instanceof LabError ? JSON.stringify(error.detail ?? '') : '';
  if (/(ptmx|devpts|\/dev\/pts)[^"]*no space left on device/i.test(runcOutput)) {
    return new LabError(
      'HOST_BUDGET',
      'The lab server has run out of terminals (pseudo-terminals, which all sandboxes share), so it cannot start a sandbox right now. Try again in a minute; if it keeps happening, tell the instructor.',
      error,
    );
  }
  return diskFullError(error);
}

/**
 * A DISK_FULL error if `error` says the disk ran out of room, wherever that surfaced: a write of
 * lab-server's own (ENOSPC, EDQUOT), or runc's output (it writes its state next to the bundles).
 */
function diskFullError(error: unknown): LabError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const runcSaidSo = error instanceof LabError && /no space left on device|disk quota exceeded/i.test(JSON.stringify(error.detail ?? ''));
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && !runcSaidSo) return undefined;
  return new LabError('DISK_FULL', 'The lab server has run out of disk space, so it cannot start a sandbox right now. Tell the instructor.', error);
}
