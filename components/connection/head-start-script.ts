/**
 * The lesson page's head start (head-start.ts): bundled on its own into
 * public/lesson-head-start.js by scripts/build-head-start.ts, loaded `async` from the page's
 * <head>, and run before Next.js's scripts. It does what the early connection's first attempt
 * would do (LabClient.connect, then `sandbox:open` once the session is there), then what the
 * connection does the moment the sandbox answers (attaches terminal 1, holding its output:
 * sandbox-connection.ts, early-terminal.ts), records what the socket hears, and leaves the rest
 * to the page, which adopts the socket (LabClient.adopt) and takes terminal 1's attach over.
 */
import { KEPT_EVENTS_MAX, openLabSocket, type AskedTerminal, type ClientSocket, type ConnectError, type ReceivedEvent } from '../../lib/lab-client';
import type { Result } from '../../protocol/catalog';
import type { SandboxInfo } from '../../protocol/common';
import { EARLY_TERMINAL_SIZE, HELD_OUTPUT_MAX_CHARS } from '../terminal/early-terminal';
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
  // A terminal's events are its own (attachTerminal), as LabClient keeps none of them.
  const record = (event: string, ...args: unknown[]) => {
    if (events.length < KEPT_EVENTS_MAX && !event.startsWith('terminal:')) events.push({ event, args });
  };
  const refused = (error: ConnectError) => (start.refused = error);
  const dropped = () => (start.dropped = true);
  const ask = () => {
    // The steps' marks are made when they happen, not when the page learns of them (first-prompt-marks.ts).
    markFirstPrompt('socket-open');
    const payload = { key: slug };
    const answer = askOn(socket, 'sandbox:open', payload);
    void answer.then((result) => {
      if (!result.ok) return;
      markFirstPrompt('sandbox-open');
      // Taken over before the answer: the page's connection attaches terminal 1 itself.
      if (!stopped && !start.dropped) start.terminal = attachTerminal(socket, result.value as SandboxInfo);
    });
    start.asked = { event: 'sandbox:open', payload, answer };
  };
  let stopped = false;
  const stop = () => {
    stopped = true;
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

/**
 * Attaches terminal 1 (the sandbox's init shell: its `run` terminal) as the connection would once
 * the sandbox answers, at the size the connection's early open takes (the page corrects it), and
 * holds its events for the terminal that will show it. Its output is not acknowledged until it is
 * on screen, so lab-server pauses the shell at its high-water mark and what is held stays small;
 * past HELD_OUTPUT_MAX_CHARS (a lab that would not pause) the output is dropped and said to be
 * lost, and the page attaches again for the screen.
 */
function attachTerminal(socket: ClientSocket, sandbox: SandboxInfo): AskedTerminal | undefined {
  const run = sandbox.terminals.find((terminal) => terminal.kind === 'run');
  if (!run) return undefined;
  const { terminalId } = run;
  const { sandboxId } = sandbox;
  const payload = { sandboxId, ...EARLY_TERMINAL_SIZE, terminalId };
  const answer = askOn(socket, 'terminal:open', payload);
  void answer.then((result) => result.ok && markFirstPrompt('terminal-open'));

  let events: ReceivedEvent[] = [];
  let chars = 0;
  let lost = false;
  const hold = (event: string, ...args: unknown[]) => {
    const message = args[0] as { terminalId?: string; data?: string } | undefined;
    if (lost || !event.startsWith('terminal:') || message?.terminalId !== terminalId) return;
    chars += message.data?.length ?? 0;
    if (chars > HELD_OUTPUT_MAX_CHARS) {
      lost = true;
      events = [];
      return;
    }
    events.push({ event, args });
  };
  socket.onAny(hold);
  return {
    sandboxId,
    terminalId,
    ...EARLY_TERMINAL_SIZE,
    answer,
    take() {
      socket.offAny(hold);
      const held = { events, lost };
      events = [];
      return held;
    },
  };
}

/** Sends a request on the socket and resolves with the lab's answer, as LabClient.request does without its deadline (the page that adopts the socket sets that). */
function askOn(socket: ClientSocket, event: string, payload: unknown): Promise<Result<unknown>> {
  const emit = socket.emit.bind(socket) as (event: string, payload: unknown, ack: (result: Result<unknown>) => void) => void;
  return new Promise((resolve) => emit(event, payload, resolve));
}
