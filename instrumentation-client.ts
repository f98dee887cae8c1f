/**
 * Next.js runs this on every page before the app's code has loaded and hydrated. On a lesson
 * page it starts the learner's sandbox at once (components/connection/early-lesson.ts); the
 * connection's code comes in a chunk of its own, so other pages load nothing more.
 */
import { lessonSlugOf } from './components/connection/lesson-path';

const slug = lessonSlugOf(window.location.pathname);
if (slug) {
  import('./components/connection/early-lesson')
    // Unless the learner has already left the lesson (this chunk came late).
    .then(({ startEarlyLesson }) => {
      if (lessonSlugOf(window.location.pathname) === slug) startEarlyLesson(slug);
    })
    // The page opens its own connection when it hydrates.
    .catch(() => undefined);
}
