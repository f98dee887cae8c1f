/**
 * A lesson opened by its address asks for its sandbox before any of Next.js's scripts have run.
 * Next.js runs instrumentation-client.ts (and so the early connection, early-lesson.ts) only once
 * its entry chunks have loaded and run: a second and more after the HTML on a busy box, during
 * which the socket's handshake and `sandbox:open` could have been under way. So the lesson page's
 * <head> loads a small script of its own, /lesson-head-start.js (head-start-script.ts, bundled
 * with socket.io's client by scripts/build-head-start.ts), `async`: it runs as soon as it arrives,
 * opens the socket with the same handshake the page would send (the lab's address from the
 * page's cookie, the session token and class code from storage; the browser sends the Origin)
 * and asks for the sandbox once the session is there, then attaches terminal 1 the moment the
 * sandbox answers (its `terminal:open` used to wait for the early connection, which is on the first
 * prompt's path). The page's code takes that socket over (takeHeadStart, then LabClient.adopt
 * through the early connection) and terminal 1's attach with it: one socket, one `sandbox:open`,
 * one `terminal:open` for terminal 1, as if the page had opened them.
 *
 * This module is the meeting point of the two, and imports nothing the app's entry would carry.
 */
import type { HeadStartSocket } from '../../lib/lab-client';

/** Where the lesson page loads the script from (public/, built by scripts/build-head-start.ts). */
export const HEAD_START_SCRIPT = '/lesson-head-start.js';

export interface LessonHeadStart extends HeadStartSocket {
  /** The lesson whose sandbox it asks for. */
  slug: string;
  /** Stops listening and closes the socket: nobody will adopt it. */
  close(): void;
}

declare global {
  interface Window {
    /**
     * The head start, once the script has made it, until a connection takes it; 'closed' once the
     * app's code runs, so that a script that comes later (or a client-side navigation to a lesson)
     * makes none: the app makes its own connection then, and a second would be a second session.
     */
    isolabHeadStart?: LessonHeadStart | 'closed';
  }
}

/**
 * The app's code runs on this page: no head start after this (one that exists stays, for the
 * connection to take).
 */
export function noLaterHeadStart(): void {
  window.isolabHeadStart ??= 'closed';
}

/**
 * The head start for the lesson `slug`, for the connection that takes it (the first one the page
 * makes, early or its own); any other is closed. Undefined if there is none, or it was taken.
 */
export function takeHeadStart(slug: string): LessonHeadStart | undefined {
  if (typeof window === 'undefined') return undefined;
  const start = window.isolabHeadStart;
  window.isolabHeadStart = 'closed';
  if (typeof start !== 'object') return undefined;
  if (start.slug === slug) return start;
  start.close();
  return undefined;
}
