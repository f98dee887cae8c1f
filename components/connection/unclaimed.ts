/**
 * Something started for a page before the page's code could claim it (a socket, a terminal) is
 * given up if the page never does: its code failed to run, say.
 */

/**
 * How long after the page's scripts have all loaded (the window's load event) an unclaimed start
 * is given up. Counted from then, not from the start, so a page whose code is slow to arrive is
 * not taken for one that never will.
 */
export const UNCLAIMED_CLOSE_MS = 60_000;

/** Calls `expire` UNCLAIMED_CLOSE_MS after the page has loaded; returns the cancel. */
export function whenUnclaimed(expire: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const start = () => (timer = setTimeout(expire, UNCLAIMED_CLOSE_MS));
  const loading = typeof document !== 'undefined' && document.readyState !== 'complete';
  if (loading) window.addEventListener('load', start, { once: true });
  else start();
  return () => {
    if (loading) window.removeEventListener('load', start);
    clearTimeout(timer);
  };
}
