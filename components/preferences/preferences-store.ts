/**
 * The learner's display preferences, kept in this browser: theme, terminal font size, screen
 * reader mode, how two terminals are laid out, and where the lesson/terminal split sits.
 */
import { isObject, LocalStore } from '../storage/local-store';

export const FONT_SIZE = { min: 10, max: 24, default: 14 } as const;
export const SPLIT = { min: 28, max: 72, default: 46 } as const;

const THEMES = ['system', 'light', 'dark'] as const;
const LAYOUTS = ['split', 'tabs'] as const;

export interface Preferences {
  theme: (typeof THEMES)[number];
  fontSize: number;
  screenReader: boolean;
  terminalLayout: (typeof LAYOUTS)[number];
  /** The lesson text's share of the width, in percent, on wide screens. */
  splitPercent: number;
}
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

const oneOf = <T extends string>(choices: readonly T[], value: unknown): value is T => choices.includes(value as T);
const numberIn = (value: unknown, min: number, max: number): value is number => typeof value === 'number' && value >= min && value <= max;

/** Stored preferences: each setting that is valid is kept, each other one (or one an older version did not store) is the default. */
export function readPreferences(stored: unknown): Preferences | undefined {
  if (!isObject(stored)) return undefined;
  const { theme, fontSize, screenReader, terminalLayout, splitPercent } = stored;
  return {
    theme: oneOf(THEMES, theme) ? theme : DEFAULT_PREFERENCES.theme,
    fontSize: numberIn(fontSize, FONT_SIZE.min, FONT_SIZE.max) && Number.isInteger(fontSize) ? fontSize : DEFAULT_PREFERENCES.fontSize,
    screenReader: typeof screenReader === 'boolean' ? screenReader : DEFAULT_PREFERENCES.screenReader,
    terminalLayout: oneOf(LAYOUTS, terminalLayout) ? terminalLayout : DEFAULT_PREFERENCES.terminalLayout,
    splitPercent: numberIn(splitPercent, SPLIT.min, SPLIT.max) ? splitPercent : DEFAULT_PREFERENCES.splitPercent,
  };
}

export const preferencesStore = new LocalStore<Preferences>(PREFERENCES_STORAGE_KEY, readPreferences, DEFAULT_PREFERENCES);

export function setPreference<K extends keyof Preferences>(key: K, value: Preferences[K]): void {
  preferencesStore.set((current) => (current[key] === value ? current : { ...current, [key]: value }));
}
