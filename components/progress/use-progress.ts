'use client';

import { useStore } from '../state/use-store';
import { ProgressStore, type ProgressData } from './progress-store';

/** One store per browser tab; other tabs are followed through the storage event. */
export const progressStore = new ProgressStore();

export function useProgress(): ProgressData {
  return useStore(progressStore, progressStore.fallback);
}
