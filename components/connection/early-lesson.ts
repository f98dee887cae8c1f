/**
 * A lesson opened by its address starts its sandbox while the page is still loading:
 * instrumentation-client.ts, which Next.js runs before the app's own code has loaded, calls
 * startEarlyLesson() with the slug from the address, so the socket's handshake and `sandbox:open`
 * overlap the download and hydration of the page. LessonWorkspace then claims the connection
 * instead of opening its own.
 *
 * The classroom starts listening only when the page hydrates, after lab-server may already have
 * said that a broadcast is live or that the instructor is viewing this learner. So the early
 * connection's clients keep the server's events (LabClient's `keepEvents`), a late listener is
 * handed what it missed, and the page says when all its listeners are in (stopKeepingEvents).
 */
import { LabClient } from '../../lib/lab-client';
import { takeHeadStart, type LessonHeadStart } from './head-start';
import { fetchLabUrl } from './lab-config';
import { localTokenStore } from './lab-connection';
import { SandboxConnection, type SandboxConnectionOptions } from './sandbox-connection';
import { whenUnclaimed } from './unclaimed';

let early: { slug: string; connection: SandboxConnection; cancelClose: () => void } | undefined;
/**
 * A lesson page is open and has made its choice: an early start now would be a second session.
 * Cleared when that page closes (leaving it for the course map, whose click starts the next one).
 */
let pageStarted = false;

/** Connects and opens the lesson's sandbox, for the page to claim when it hydrates. */
export function startEarlyLesson(slug: string, options: Partial<SandboxConnectionOptions> = {}): void {
  if (early || pageStarted) return;
  const connection = lessonConnection(slug, { ...options, keepEvents: true });
  connection.start();
  const cancelClose = whenUnclaimed(() => {
    if (early?.connection !== connection) return;
    early = undefined;
    connection.dispose();
  });
  early = { slug, connection, cancelClose };
}

/**
 * A new connection for the lesson `slug`: over the socket of the page's head start (head-start.ts),
 * which may have asked for the sandbox already, if there is one nobody took.
 */
function lessonConnection(slug: string, options: Partial<SandboxConnectionOptions> = {}): SandboxConnection {
  const headStart = takeHeadStart(slug);
  return new SandboxConnection({ key: slug, labUrl: fetchLabUrl, tokens: localTokenStore(), ...(headStart ? { connect: adoptingFirst(headStart) } : {}), ...options });
}

/** The first attempt takes the head start's socket over (if it went to the same lab); every later one connects anew. */
function adoptingFirst(headStart: LessonHeadStart): NonNullable<SandboxConnectionOptions['connect']> {
  let first: LessonHeadStart | undefined = headStart;
  return (url, options) => {
    const start = first;
    first = undefined;
    if (start?.url === url) return LabClient.adopt(start, options);
    start?.close();
    return LabClient.connect(url, options);
  };
}

/**
 * The early connection for `slug` while no page has claimed it, still owned here: terminal 1 may
 * come on screen through it before the page hydrates (components/terminal/early-screen.ts).
 */
export function earlyLessonConnection(slug: string): SandboxConnection | undefined {
  return early?.slug === slug ? early.connection : undefined;
}

/**
 * The early connection for `slug`, now the caller's to own and dispose (it still keeps events:
 * call stopKeepingEvents() once the page listens), or undefined: then the page opens its own.
 * Whatever the answer, no early start happens after this.
 */
export function claimEarlyLesson(slug: string): SandboxConnection | undefined {
  pageStarted = true;
  const claimed = early;
  early = undefined;
  if (!claimed) return undefined;
  claimed.cancelClose();
  if (claimed.slug === slug) return claimed.connection;
  claimed.connection.dispose();
  return undefined;
}

/** The lesson page's connection: the early one if it started, else its own (over the head start, if the page has one). */
export function lessonPageConnection(slug: string): SandboxConnection {
  return claimEarlyLesson(slug) ?? lessonConnection(slug);
}

/**
 * A press on the course map that did not become a click (components/connection/lesson-warmup.ts):
 * its early connection, which has not asked for a sandbox, is closed unless a page claimed it.
 */
export function cancelEarlyLesson(slug: string): void {
  if (early?.slug !== slug) return;
  early.cancelClose();
  early.connection.dispose();
  early = undefined;
}

/** The lesson page that claimed is gone (navigated away): the next lesson may start early again. */
export function releaseEarlyLesson(): void {
  pageStarted = false;
}

/** Tests only: back to a page that has not loaded yet. */
export function resetEarlyLesson(): void {
  if (early) {
    early.cancelClose();
    early.connection.dispose();
  }
  early = undefined;
  pageStarted = false;
}
