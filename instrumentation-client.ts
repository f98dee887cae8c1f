/**
 * Next.js runs this on every page before the app's code has loaded and hydrated. On a lesson
 * page it starts the learner's sandbox at once (components/connection/early-lesson.ts) and starts
 * loading the terminal's code (xterm.js, the largest chunk the first prompt needs), so both
 * overlap the page's own download and hydration instead of following them. Once xterm.js is in,
 * terminal 1 goes on screen over that early start without waiting for hydration either
 * (components/terminal/early-screen.ts; the page adopts it). Each is a chunk of its own, so other
 * pages load nothing more.
 */
import { noLaterHeadStart } from './components/connection/head-start';
import { lessonSlugOf } from './components/connection/lesson-path';

const slug = lessonSlugOf(window.location.pathname);
// A lesson's head start (head-start.ts) that has not run yet would come too late: the connection makes its own.
noLaterHeadStart();
if (slug) {
  // Unless the learner has already left the lesson (a chunk came late).
  const stillHere = () => lessonSlugOf(window.location.pathname) === slug;
  // The page imports the same module when its terminal mounts, and finds it loaded.
  const terminalCode = import('./components/terminal/owned-terminal');
  const connectionCode = import('./components/connection/early-lesson');
  connectionCode
    .then(({ startEarlyLesson }) => {
      if (stillHere()) startEarlyLesson(slug);
    })
    // The page opens its own connection when it hydrates.
    .catch(() => undefined);
  Promise.all([terminalCode, import('./components/terminal/early-screen'), connectionCode])
    .then(([{ OwnedTerminal }, { showEarlyScreen }]) => {
      if (stillHere()) showEarlyScreen(slug, OwnedTerminal);
    })
    // The page makes terminal 1 when it hydrates.
    .catch(() => undefined);
}
