'use client';

import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useWorkspace } from '../lesson/workspace-context';
import { progressStore } from '../progress/use-progress';
import { LearnerClassroom, type LearnerClassSnapshot } from './learner-classroom';
import { displayNameStore } from './use-display-name';

const LearnerClassContext = createContext<LearnerClassroom | null>(null);

/**
 * Puts the lesson page in the classroom, on the page's sandbox connection: progress reports,
 * the chosen name, following the instructor and the spotlight badge. It lives as long as the
 * connection does.
 */
export function LearnerClassProvider({ stepIds, children }: { stepIds: readonly string[]; children: ReactNode }) {
  const { connection, slug } = useWorkspace();
  const [classroom, setClassroom] = useState<LearnerClassroom | null>(null);
  // The step list is the lesson's; it changes only with the slug, so the key keeps it stable.
  const stepKey = stepIds.join(' ');

  useEffect(() => {
    if (!connection) return;
    const created = new LearnerClassroom(connection, { slug, stepIds: stepKey ? stepKey.split(' ') : [], progress: progressStore, names: displayNameStore });
    created.start();
    setClassroom(created);
    return () => {
      created.dispose();
      setClassroom(null);
    };
  }, [connection, slug, stepKey]);

  return <LearnerClassContext value={classroom}>{children}</LearnerClassContext>;
}

const IDLE: LearnerClassSnapshot = { broadcastLive: false, following: false, spotlighted: false };
const noSubscription = () => () => undefined;

/** The page's classroom and its state; null outside a lesson page (or before it mounted). */
export function useLearnerClass(): { classroom: LearnerClassroom | null; snapshot: LearnerClassSnapshot } {
  const classroom = useContext(LearnerClassContext);
  const snapshot = useSyncExternalStore(
    classroom?.subscribe ?? noSubscription,
    classroom ? classroom.getSnapshot : () => IDLE,
    () => IDLE,
  );
  return { classroom, snapshot };
}
