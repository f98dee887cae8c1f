/**
 * The protocol's plain values and rules, in a module that imports nothing: the browser takes them
 * without zod, which it would otherwise load before a lesson's first prompt. The schemas in
 * common.ts are built from these, so each rule is written once.
 */

/** Bumped on any incompatible change. The handshake refuses a client that speaks another one. */
export const PROTOCOL_VERSION = 1;

/**
 * The largest terminal: about a 4K screen at a small font. The server mirrors every screen, and
 * what that costs grows with the number of cells: filling the screen (`ESC # 8`) took 120 µs at
 * 300×100 and 300 µs at 500×200, a full snapshot 2 MB against 3.6 MB, and a screen with its
 * scrollback about 4 MB of memory against 7 MB. Beyond this a client could make the server
 * allocate and parse huge screens for a few bytes.
 */
export const TERMINAL_LIMITS = { minCols: 2, maxCols: 300, minRows: 1, maxRows: 100 } as const;
/** The largest single input event (a big paste). Larger pastes are split by the client. */
export const MAX_INPUT_CHARS = 64 * 1024;
export const MAX_CHECK_COMMAND_CHARS = 8 * 1024;
export const MAX_CHECK_TIMEOUT_MS = 60_000;

/** The longest text taken as a display name before it is normalized (the name itself has at most 40 characters). */
export const MAX_DISPLAY_NAME_INPUT = 200;

/**
 * A display name as it is kept and shown. NFKC folds compatibility forms (full-width letters,
 * ligatures) into plain ones.
 */
export function normalizeDisplayName(text: string): string {
  return text.normalize('NFKC').trim();
}

/**
 * Why a (normalized) display name cannot be used, or undefined. Control and format characters are
 * refused: bidi overrides and zero-width characters make a name display as something else than
 * it is. "Instructor" is the instructor's title, so no learner may take it.
 */
export function displayNameProblem(name: string): string | undefined {
  if (name.length < 1) return 'a name needs at least one character';
  if (name.length > 40) return 'a name has at most 40 characters';
  if (/[\p{C}\p{Zl}\p{Zp}]/u.test(name)) return 'names cannot contain control or invisible characters';
  if (name.replace(/[^\p{L}\p{N}]/gu, '').toLowerCase() === 'instructor') return '"Instructor" is reserved for the instructor';
  return undefined;
}
