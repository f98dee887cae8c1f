'use client';

import { useSyncExternalStore } from 'react';
import type { ReadableStore } from './store';

const noSubscription = () => () => undefined;

/**
 * Renders a store's value. `fallback` is what the server renders and hydration starts from, and
 * what stands in while there is no store yet (before its owner mounted); pass a constant.
 */
export function useStore<T>(store: ReadableStore<T> | null | undefined, fallback: T): T {
  const initial = () => fallback;
  return useSyncExternalStore(store?.subscribe ?? noSubscription, store?.get ?? initial, initial);
}
