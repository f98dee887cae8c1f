'use client';

import { createContext, useContext } from 'react';
import { useStore } from '../state/use-store';
import type { LearnerClassroom, LearnerClassSnapshot } from './learner-classroom';

/** The lesson page's place in the classroom; LessonWorkspace makes it with the page's connection. */
export const LearnerClassContext = createContext<LearnerClassroom | null>(null);

const IDLE: LearnerClassSnapshot = { broadcastLive: false, following: false, spotlighted: false };

/** The page's classroom and its state; null outside a lesson page (or before it mounted). */
export function useLearnerClass(): { classroom: LearnerClassroom | null; snapshot: LearnerClassSnapshot } {
  const classroom = useContext(LearnerClassContext);
  const snapshot = useStore(classroom?.state, IDLE);
  return { classroom, snapshot };
}
