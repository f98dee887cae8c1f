/**
 * A lesson picked on the course map gets ready while its page loads.
 * - The map, once idle, loads the code the first prompt needs (xterm.js and the connection), and
 *   so does pointing at or focusing a lesson's link: static files, no work for lab-server.
 * - Pressing a lesson's link connects to lab-server (socket and session, no sandbox): a press
 *   comes about 100 ms before its click, and a touch gives no hover at all.
 * - The click, which navigates, asks for the sandbox on that connection (or, with no press before
 *   it, such as Enter on the keyboard, connects and asks at once), so the handshake and
 *   `sandbox:open` overlap the page's data, code and render instead of following them. The page
 *   claims the connection when it renders (early-lesson.ts).
 * No sandbox is started before the click: a press that ends elsewhere, is cancelled (a touch
 * that scrolls) or drags the link closes its connection, and would have cost the lab a sandbox
 * for nothing.
 */
type EarlyLessonModule = typeof import('./early-lesson');

let loading: Promise<EarlyLessonModule> | undefined;

/** Loads the first prompt's code ahead of a click; later calls return the same load (or retry a failed one). */
export function warmLesson(): Promise<EarlyLessonModule> {
  if (!loading) {
    // The lesson page imports the same modules, so it finds them loaded.
    void import('../terminal/owned-terminal').catch(() => undefined);
    const started = import('./early-lesson');
    started.catch(() => {
      if (loading === started) loading = undefined;
    });
    loading = started;
  }
  return loading;
}

let idleWarmAsked = false;

/** The course map has rendered: load the first prompt's code once the browser has nothing else to do. */
export function warmLessonWhenIdle(): void {
  if (idleWarmAsked || typeof window === 'undefined') return;
  idleWarmAsked = true;
  const warm = () => void warmLesson().catch(() => undefined);
  // Safari has no requestIdleCallback.
  if (typeof window.requestIdleCallback === 'function') window.requestIdleCallback(warm);
  else setTimeout(warm, 200);
}

/** The press in progress on a lesson's link: its click lets the sandbox be asked for. */
let press: { slug: string; clicked: () => void; cancelled: boolean } | undefined;

/** A primary press on a lesson's link: connect now, and ask for the sandbox only if it becomes a click (lessonClicked). */
export function lessonPressed(slug: string): void {
  cancelLessonPress();
  let clicked!: () => void;
  const openWhen = new Promise<void>((resolve) => (clicked = resolve));
  const current = { slug, clicked, cancelled: false };
  press = current;
  warmLesson()
    .then(({ startEarlyLesson }) => {
      if (!current.cancelled) startEarlyLesson(slug, { openWhen });
    })
    .catch(() => undefined);
}

/** The press ended without a click that navigates to its lesson: its connection, which holds no sandbox, is closed. */
export function cancelLessonPress(): void {
  const current = press;
  if (!current) return;
  press = undefined;
  current.cancelled = true;
  void warmLesson()
    .then(({ cancelEarlyLesson }) => cancelEarlyLesson(current.slug))
    .catch(() => undefined);
}

/** A click that navigates to the lesson: its sandbox starts now (the page claims the connection, or opens its own if this comes too late). */
export function lessonClicked(slug: string): void {
  const current = press;
  press = undefined;
  if (current?.slug === slug) {
    current.clicked();
    return;
  }
  if (current) {
    // A press on another lesson's link: its connection goes first (both wait for the same load, in order).
    press = current;
    cancelLessonPress();
  }
  warmLesson()
    .then(({ startEarlyLesson }) => startEarlyLesson(slug))
    .catch(() => undefined);
}
