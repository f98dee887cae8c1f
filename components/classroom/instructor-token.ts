/**
 * The instructor's secret travels in the URL fragment (`/instructor#token=…`), which browsers
 * never send to a server or put in a Referer. The page moves it to sessionStorage (this tab
 * only, gone when the tab closes) and takes it out of the address bar, so it does not end up on
 * a projector, in a screenshot or in the history.
 */
const STORAGE_KEY = 'isolab.instructor-token';

/** Reads the token from the fragment (keeping it) or from this tab's storage. */
export function takeInstructorToken(): string | undefined {
  const fromHash = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('token')?.trim();
  if (fromHash) {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, fromHash);
    } catch {
      // Without storage the token lives only as long as this page.
    }
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, '', `${pathname}${search}`);
    return fromHash;
  }
  try {
    return window.sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Forgets a token the server refused. */
export function forgetInstructorToken(): void {
  try {
    window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored, nothing to forget.
  }
}

/** The instructor's own lab session (their demo sandbox), apart from any learner session in this browser. */
export const INSTRUCTOR_SESSION_KEY = 'isolab.instructor-session-token';
