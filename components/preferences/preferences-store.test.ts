import { describe, expect, it } from 'vitest';
import { LocalStore } from '../storage/local-store';
import { DEFAULT_PREFERENCES, PREFERENCES_STORAGE_KEY, readPreferences, type Preferences } from './preferences-store';

function storeWith(raw: unknown) {
  const items = new Map([[PREFERENCES_STORAGE_KEY, JSON.stringify(raw)]]);
  const storage = { getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value), removeItem: () => undefined };
  return new LocalStore<Preferences>(PREFERENCES_STORAGE_KEY, readPreferences, DEFAULT_PREFERENCES, storage);
}

describe('preferences', () => {
  it('keeps the valid settings and repairs only the bad ones', () => {
    const store = storeWith({ theme: 'dark', fontSize: 99, screenReader: 'yes', terminalLayout: 'tabs', splitPercent: 55 });
    expect(store.get()).toEqual({ theme: 'dark', fontSize: DEFAULT_PREFERENCES.fontSize, screenReader: false, terminalLayout: 'tabs', splitPercent: 55 });
  });

  it('fills in settings an older version did not store', () => {
    expect(storeWith({ theme: 'light' }).get()).toEqual({ ...DEFAULT_PREFERENCES, theme: 'light' });
  });
});
