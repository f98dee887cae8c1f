/**
 * Handlers for the classroom (issue 6): dashboard, broadcast, spotlight, class controls.
 */
import type { Lab } from '../sandbox/lab';
import type { HandlerSet } from './handler-types';

export function classroomHandlers(_lab: Lab): HandlerSet {
  return { requests: {}, messages: {} };
}
