'use client';

import { useSyncExternalStore } from 'react';
import { DARK_QUERY } from './theme-script';
import { usePreferences } from '../preferences/use-preferences';

function subscribeToSystemTheme(listener: () => void): () => void {
  const query = window.matchMedia(DARK_QUERY);
  query.addEventListener('change', listener);
  return () => query.removeEventListener('change', listener);
}

function systemPrefersDark(): boolean {
  return window.matchMedia(DARK_QUERY).matches;
}

/** The theme actually shown: the learner's choice, or the system's when they chose "system". */
export function useResolvedTheme(): 'light' | 'dark' {
  const { theme } = usePreferences();
  const systemDark = useSyncExternalStore(subscribeToSystemTheme, systemPrefersDark, () => false);
  if (theme === 'system') return systemDark ? 'dark' : 'light';
  return theme;
}
