'use client';

import { useSyncExternalStore } from 'react';
import { preferencesStore, type Preferences } from './preferences-store';

export function usePreferences(): Preferences {
  return useSyncExternalStore(preferencesStore.subscribe, preferencesStore.get, preferencesStore.getServerSnapshot);
}
