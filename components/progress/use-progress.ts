'use client';

import { useSyncExternalStore } from 'react';
import { ProgressStore, type ProgressData } from './progress-store';

/** One store per browser tab; other tabs are followed through the storage event. */
export const progressStore = new ProgressStore();

export function useProgress(): ProgressData {
  return useSyncExternalStore(progressStore.subscribe, progressStore.get, progressStore.getServerSnapshot);
}
