'use client';

import { useStore } from '../state/use-store';
import { preferencesStore, type Preferences } from './preferences-store';

export function usePreferences(): Preferences {
  return useStore(preferencesStore, preferencesStore.fallback);
}
