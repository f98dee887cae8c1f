/**
 * Next.js runs this on every page before the app's code has loaded and hydrated. On a lesson
 * page it starts the learner's sandbox at once (components/connection/early-lesson.ts) and starts
 * loading the terminal's code (xterm.js, the largest chunk the first prompt needs), so both
 * overlap the page's own download and hydration instead of following them. Each is a chunk of
 * its own, so other pages load nothing more.
 */
import { lessonSlugOf } from './components/connection/lesson-path';

const slug = lessonSlugOf(window.location.pathname);
if (slug) {
  // The page imports the same module when its terminal mounts, and finds it loaded.
  void import('./components/terminal/owned-terminal').catch(() => undefined);
  import('./components/connection/early-lesson')
    // Unless the learner has already left the lesson (this chunk came late).
    .then(({ startEarlyLesson }) => {
      if (lessonSlugOf(window.location.pathname) === slug) startEarlyLesson(slug);
    })
    // The page opens its own connection when it hydrates.
    .catch(() => undefined);
}
