'use client';

import { useStore } from '../state/use-store';
import { browserStorage } from '../storage/local-store';
import { DisplayNameStore, type DisplayNameData } from './display-name-store';

/** One store per tab; other tabs (a lesson open beside the course map) follow through the storage event. */
export const displayNameStore = new DisplayNameStore(browserStorage());

export function useDisplayName(): DisplayNameData {
  return useStore(displayNameStore, displayNameStore.fallback);
}
