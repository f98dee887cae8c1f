/**
 * The name a learner shows the instructor, kept in this browser. Learners need no account: the
 * lab gives each session a friendly generated name ("swift-otter"), and a learner may pick one
 * of their own, once, on the course map or any time from the header. The lesson page's
 * classroom link tells lab-server whenever the chosen name changes.
 */
import { displayNameProblem, MAX_DISPLAY_NAME_INPUT, normalizeDisplayName } from '../../protocol/limits';
import { isObject, LocalStore, type StorageLike } from '../storage/local-store';

export const DISPLAY_NAME_STORAGE_KEY = 'isolab.display-name.v1';

export interface DisplayNameData {
  /** The name the learner picked; absent while they use the generated one. */
  chosen?: string;
  /** The name lab-server generated for this browser's session, to show before one is picked. */
  generated?: string;
  /** The learner answered the first-visit question (picked a name or said "not now"). */
  asked: boolean;
}

/** The name as lab-server would take it (protocol's DisplayName rule), or the problem in a sentence. */
function checkName(text: string): { name: string } | { problem: string } {
  if (text.length > MAX_DISPLAY_NAME_INPUT) return { problem: 'a name has at most 40 characters' };
  const name = normalizeDisplayName(text);
  const problem = displayNameProblem(name);
  return problem ? { problem } : { name };
}

/** Stored names, keeping what is still valid (a name an older version allowed is dropped). */
function readNames(stored: unknown): DisplayNameData | undefined {
  if (!isObject(stored)) return undefined;
  const chosen = typeof stored.chosen === 'string' ? checkName(stored.chosen) : undefined;
  const generated = typeof stored.generated === 'string' && stored.generated.length <= 40 ? stored.generated : undefined;
  return {
    ...(chosen && 'name' in chosen ? { chosen: chosen.name } : {}),
    ...(generated !== undefined ? { generated } : {}),
    asked: typeof stored.asked === 'boolean' ? stored.asked : false,
  };
}

export class DisplayNameStore extends LocalStore<DisplayNameData> {
  constructor(storage?: StorageLike) {
    super(DISPLAY_NAME_STORAGE_KEY, readNames, { asked: false }, storage);
  }

  /** Keeps a valid name (trimmed); returns the problem in a sentence otherwise. */
  choose(name: string): string | undefined {
    const checked = checkName(name);
    if ('problem' in checked) return name.trim() ? `That name cannot be used: ${checked.problem}.` : 'Type a name first.';
    this.set((data) => ({ ...data, chosen: checked.name, asked: true }));
    return undefined;
  }

  /** "Not now": keep the generated name and stop asking. */
  skip(): void {
    this.set((data) => (data.asked ? data : { ...data, asked: true }));
  }

  rememberGenerated(name: string): void {
    this.set((data) => (data.generated === name ? data : { ...data, generated: name }));
  }
}

/** What to show as "you appear as …": the chosen name, else the generated one. */
export function shownName(data: DisplayNameData): string | undefined {
  return data.chosen ?? data.generated;
}
