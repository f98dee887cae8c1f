/**
 * Performance marks on the way from opening a lesson to its first prompt. They cost nothing a
 * learner notices, show up in the browser's performance panel, and are what
 * bench/first-prompt.bench.ts reads to say where the time went.
 */
export type FirstPromptStep =
  /** The lesson page's client code ran (hydration on a direct open, render on a click). */
  | 'hydrated'
  /** lab-server accepted the socket and sent the session. */
  | 'socket-open'
  /** `sandbox:open` answered: the sandbox is running. */
  | 'sandbox-open'
  /** The first terminal's `terminal:open` answered: its screen is on its way. */
  | 'terminal-open'
  /** The terminal's code (xterm.js) has loaded and run. */
  | 'terminal-code'
  /** Terminal 1's xterm is made, in its pane. */
  | 'terminal-made';

export const FIRST_PROMPT_MARK_PREFIX = 'isolab:';

export function markFirstPrompt(step: FirstPromptStep): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(FIRST_PROMPT_MARK_PREFIX + step);
}
