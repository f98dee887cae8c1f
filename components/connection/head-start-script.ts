/**
 * The lesson page's head start (head-start.ts): bundled on its own into
 * public/lesson-head-start.js by scripts/build-head-start.ts, loaded `async` from the page's
 * <head>, and run before Next.js's scripts. It does what the early connection's first attempt
 * would do (LabClient.connect, then `sandbox:open` once the session is there), records what the
 * socket hears, and leaves the rest to the page, which adopts the socket (LabClient.adopt).
 */
import { KEPT_EVENTS_MAX, openLabSocket, type ConnectError, type ReceivedEvent } from '../../lib/lab-client';
import type { Result } from '../../protocol/catalog';
import { markFirstPrompt } from './first-prompt-marks';
import type { LessonHeadStart } from './head-start';
import { labConfigFromCookie, resolveLabUrl } from './lab-config';
import { localTokenStore } from './lab-connection';
import { lessonSlugOf } from './lesson-path';
import { whenUnclaimed } from './unclaimed';

/** Starts the head start, unless this is no lesson, the lab's address did not come with the page, or the app's code already runs. */
export function startHeadStart(open: typeof openLabSocket = openLabSocket): void {
  if (window.isolabHeadStart !== undefined) return;
  const slug = lessonSlugOf(window.location.pathname);
  // Without the cookie the page asks the web server where the lab is, once its code runs.
  const config = labConfigFromCookie(document.cookie, window.location.host);
  if (!slug || !config) return;
  const url = resolveLabUrl(config, window.location);
  const tokens = localTokenStore();
  // The page that adopts the socket sets the deadline for its session (LabClient.adopt); until then no timer runs.
  const socket = open(url, { deadlineFrom: new Promise(() => undefined) }, () => tokens.get());

  const events: ReceivedEvent[] = [];
  // Held for the page as LabClient would keep them; a lab says a few things before a page listens, not a hundred.
  const record = (event: string, ...args: unknown[]) => {
    if (events.length < KEPT_EVENTS_MAX) events.push({ event, args });
  };
  const refused = (error: ConnectError) => (start.refused = error);
  const dropped = () => (start.dropped = true);
  const ask = () => {
    // The steps' marks are made when they happen, not when the page learns of them (first-prompt-marks.ts).
    markFirstPrompt('socket-open');
    const payload = { key: slug };
    const emit = socket.emit.bind(socket) as (event: string, payload: unknown, ack: (result: Result<unknown>) => void) => void;
    const answer = new Promise<Result<unknown>>((resolve) => emit('sandbox:open', payload, resolve));
    void answer.then((result) => result.ok && markFirstPrompt('sandbox-open'));
    start.asked = { event: 'sandbox:open', payload, answer };
  };
  const stop = () => {
    cancelClose();
    socket.offAny(record);
    socket.off('connect_error', refused);
    socket.off('disconnect', dropped);
    socket.off('session', ask);
  };
  const start: LessonHeadStart = {
    slug,
    url,
    socket,
    events,
    stop,
    close() {
      stop();
      socket.close();
    },
  };
  socket.onAny(record);
  socket.on('connect_error', refused);
  socket.on('disconnect', dropped);
  socket.once('session', ask);
  // A page whose code never came to adopt it (it failed to load) gives its sandbox back.
  const cancelClose = whenUnclaimed(() => start.close());
  window.isolabHeadStart = start;
}
