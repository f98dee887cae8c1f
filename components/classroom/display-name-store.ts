/**
 * The name a learner shows the instructor, kept in this browser. Learners need no account: the
 * lab gives each session a friendly generated name ("swift-otter"), and a learner may pick one
 * of their own, once, on the course map or any time from the header. The lesson page's
 * classroom link tells lab-server whenever the chosen name changes.
 */
import { z } from 'zod';
import { DisplayName } from '../../protocol/common';
import { LocalStore, type StorageLike } from '../storage/local-store';

export const DISPLAY_NAME_STORAGE_KEY = 'isolab.display-name.v1';

const DisplayNameData = z.object({
  /** The name the learner picked; absent while they use the generated one. */
  chosen: DisplayName.optional().catch(undefined),
  /** The name lab-server generated for this browser's session, to show before one is picked. */
  generated: z.string().max(40).optional().catch(undefined),
  /** The learner answered the first-visit question (picked a name or said "not now"). */
  asked: z.boolean().catch(false),
});
export type DisplayNameData = z.infer<typeof DisplayNameData>;

export class DisplayNameStore extends LocalStore<DisplayNameData> {
  constructor(storage?: StorageLike) {
    super(DISPLAY_NAME_STORAGE_KEY, DisplayNameData, { asked: false }, storage);
  }

  /** Keeps a valid name (trimmed); returns the problem in a sentence otherwise. */
  choose(name: string): string | undefined {
    const parsed = DisplayName.safeParse(name);
    if (!parsed.success) return name.trim() ? `That name cannot be used: ${parsed.error.issues[0].message}.` : 'Type a name first.';
    this.set((data) => ({ ...data, chosen: parsed.data, asked: true }));
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
