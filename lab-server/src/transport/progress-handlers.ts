/**
 * Handlers for verified progress (see progress/class-progress.ts): a learner asks for a step's
 * check by lesson and step, reads their record, gets or redeems a resume code, or clears their
 * record; the instructor exports every pass and clears the class. The dispatcher has already
 * refused payloads that carry a command or a claimed pass, and instructor requests from learners.
 */
import { LabError } from '../errors';
import type { ClassProgress } from '../progress/class-progress';
import type { Lab } from '../sandbox/lab';
import type { AddressLimits } from './address-limits';
import type { HandlerSet, LabSocket } from './handler-types';

export function progressHandlers(lab: Lab, progress: ClassProgress, limits: AddressLimits): HandlerSet {
  const learnerOnly = (socket: LabSocket, what: string) => {
    if (socket.data.role === 'instructor') throw new LabError('FORBIDDEN', `The instructor is not in the class record, so there is no ${what}.`);
  };
  return {
    requests: {
      'progress:check': (socket, { sandboxId, lessonSlug, stepId }) =>
        progress.check(socket.data.session, socket.data.token, socket.data.role === 'instructor', lab.find(socket.data.session.id, sandboxId), lessonSlug, stepId),

      'progress:get': (socket) => progress.of(socket.data.session),

      'progress:resume-code': (socket) => {
        learnerOnly(socket, 'resume code');
        return { code: progress.resumeCode(socket.data.session, socket.data.token) };
      },

      'progress:resume': (socket, { code }) => {
        // A resume code is a secret: wrong guesses count against the address, like class codes.
        const throttled = limits.refuseSecretAttempt(socket.data.address, 'resume code');
        if (throttled) throw throttled;
        const resumed = progress.resume(code);
        if (!resumed) {
          limits.secretWasWrong(socket.data.address, 'resume code');
          throw new LabError('NOT_FOUND', 'No learner has that resume code. Check it (8 letters and digits, like K7QF-M2XD) and try again.');
        }
        return resumed;
      },

      'progress:forget-me': async (socket) => {
        learnerOnly(socket, 'record to clear');
        return { passes: await progress.forget(socket.data.session) };
      },

      'progress:passes': () => progress.passes(),
      'progress:clear-class': () => progress.clear(),
    },
    messages: {},
  };
}
