/**
 * The learner's display preferences, kept in this browser: theme, terminal font size, screen
 * reader mode, how two terminals are laid out, and where the lesson/terminal split sits.
 */
import { z } from 'zod';
import { LocalStore } from '../storage/local-store';

export const FONT_SIZE = { min: 10, max: 24, default: 14 } as const;
export const SPLIT = { min: 28, max: 72, default: 46 } as const;

export const PreferencesSchema = z.object({
  theme: z.enum(['system', 'light', 'dark']).catch('system'),
  fontSize: z.number().int().min(FONT_SIZE.min).max(FONT_SIZE.max).catch(FONT_SIZE.default),
  screenReader: z.boolean().catch(false),
  terminalLayout: z.enum(['split', 'tabs']).catch('split'),
  /** The lesson text's share of the width, in percent, on wide screens. */
  splitPercent: z.number().min(SPLIT.min).max(SPLIT.max).catch(SPLIT.default),
});
export type Preferences = z.infer<typeof PreferencesSchema>;
export type ThemePreference = Preferences['theme'];

export const DEFAULT_PREFERENCES: Preferences = {
  theme: 'system',
  fontSize: FONT_SIZE.default,
  screenReader: false,
  terminalLayout: 'split',
  splitPercent: SPLIT.default,
};

/** The inline theme script (app/layout.tsx) reads the same key before the first paint. */
export const PREFERENCES_STORAGE_KEY = 'isolab.preferences.v1';

export const preferencesStore = new LocalStore<Preferences>(PREFERENCES_STORAGE_KEY, PreferencesSchema, DEFAULT_PREFERENCES);

export function setPreference<K extends keyof Preferences>(key: K, value: Preferences[K]): void {
  preferencesStore.set((current) => (current[key] === value ? current : { ...current, [key]: value }));
}
