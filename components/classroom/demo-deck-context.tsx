'use client';

import { createContext, useContext } from 'react';
import type { DeckPosition } from './demo-deck';

export interface DemoDeck {
  position: DeckPosition;
  /** The block → runs next on the current slide. */
  nextBlock: number | undefined;
  /** Runs one block of the current slide now (its own Run button). */
  runBlock(slide: number, block: number): void;
  live: boolean;
}

export const DemoDeckContext = createContext<DemoDeck | null>(null);

export function useDemoDeck(): DemoDeck {
  const deck = useContext(DemoDeckContext);
  if (!deck) throw new Error('useDemoDeck() needs demo mode around it.');
  return deck;
}
