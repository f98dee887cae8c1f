/**
 * Handlers for observing a sandbox (issue 5): meters, host view, namespace map.
 */
import type { Lab } from '../sandbox/lab';
import type { HandlerSet } from './handler-types';

export function observeHandlers(_lab: Lab): HandlerSet {
  return { requests: {}, messages: {} };
}
