/**
 * A lesson picked on the course map gets ready while its page loads. Pointing at or focusing a
 * lesson's link loads the code its first prompt needs (xterm.js and the connection), which costs
 * the server nothing; the click itself, which navigates, starts the sandbox through the same early
 * connection a lesson opened by its address uses (early-lesson.ts), so the handshake and
 * `sandbox:open` overlap the page's data, code and render instead of following them.
 * No sandbox is started before the click: a press that never becomes one would cost the lab a
 * sandbox for nothing.
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

/** A click that navigates to the lesson: its sandbox starts now (the page claims the connection, or opens its own if this comes too late). */
export function startLessonOnClick(slug: string): void {
  warmLesson()
    .then(({ startEarlyLesson }) => startEarlyLesson(slug))
    .catch(() => undefined);
}
